import type { Socket } from 'node:net';
import { type ConnectionEntry, ConnectionTable } from '@resilient-rpc/core';
import { TickClock } from '@resilient-rpc/core/transport';
import type { ServerOptionsOf } from './http-handler.js';

/** Options of {@link ConnectionGuard}: the listener's settings, and: */
export interface ConnectionGuardOptions
  extends Required<Pick<ServerOptionsOf, 'maxConnections' | 'maxConnectionsPerAddress' | 'idleTimeoutMs'>> {
  /** A refused connection that sends no request within this long is closed, ms. */
  readonly refusedGraceMs: number;
}

/** How many fresh connections eviction looks at for one that sent nothing at all (bounds its cost). */
const EVICTION_SCAN = 64;

/** One connection; its `data` is its `bytesRead` when admitted (a TLS socket has read its handshake by then). */
type Admitted = ConnectionEntry<Socket, number>;

/** It has sent no byte since it was admitted. */
const silent = (entry: Admitted) => entry.key.bytesRead === entry.data;

/**
 * Keeps the connections of one listener within `maxConnections`, `maxConnectionsPerAddress` and
 * `idleTimeoutMs` (the core's {@link ConnectionTable}), so that idle connections cannot lock
 * callers out (node:http itself closes keep-alive connections past `keepAliveTimeout` and headers
 * that trickle in past `headersTimeout`). A refused connection is answered 503 on its first request
 * (by the listener, which reports each request with `busy` and `idle`), or closed after
 * `refusedGraceMs` if it sends none.
 */
export class ConnectionGuard extends ConnectionTable<Socket, number> {
  /** Stops the idle sweep. */
  readonly stop: () => void;
  /**
   * Who makes room past `maxConnections`, in this order: a fresh connection that never sent a
   * byte, then the one idle longest between requests, then one still sending its first headers.
   */
  private readonly victims: readonly ((entry: Admitted) => Admitted | undefined)[] = [
    (entry) => this.first('fresh', 0, (other) => other !== entry && silent(other), EVICTION_SCAN),
    () => this.first('idle'),
    (entry) => this.first('fresh', 0, (other) => other !== entry),
  ];

  /**
   * The guard's clock is read at each admission and sweep, not at each request: eviction needs
   * the order of the idle list, not its times, so a request's end reads no clock.
   */
  constructor(
    private readonly limits: ConnectionGuardOptions,
    private readonly ticks = new TickClock(),
  ) {
    super({ ...limits, clock: ticks });
    // A connection that sent bytes of a first request is left to node:http's header timeout.
    this.stop = this.sweep('fresh', limits.idleTimeoutMs, closeSilent, () => ticks.tick());
  }

  /** Registers a new connection (TCP, or TLS once its handshake is done). */
  admit(socket: Socket): void {
    this.ticks.tick();
    const entry = this.add(socket, socket.remoteAddress ?? '', socket.bytesRead);
    socket.once('close', () => this.delete(entry));
    // Past the per-address limit it may not push out other addresses' connections.
    if (entry.refusal !== undefined || !this.over) this.closeIfRefused(entry);
    else setImmediate(() => this.makeRoomFor(entry));
  }

  /**
   * Makes room for `entry` once this turn of the event loop has read what the kernel held: an idle
   * connection whose next request was already there is busy by then, not reset after its client
   * sent. (One that reaches the kernel later can still meet a closing connection: nothing on the
   * server tells it from one not sent yet.)
   */
  private makeRoomFor(entry: Admitted): void {
    if (entry.gone) return;
    this.makeRoom(entry, this.victims)?.key.destroy();
    this.closeIfRefused(entry);
  }

  /** A refused connection that sent no request within `refusedGraceMs` is closed. */
  private closeIfRefused(entry: Admitted): void {
    // One whose request began before it was refused (TLS: in the tick of its handshake) finishes it.
    if (entry.refusal === undefined || entry.served) return;
    setTimeout(() => entry.key.destroy(), this.limits.refusedGraceMs).unref();
  }
}

function closeSilent(entry: Admitted): void {
  if (entry.refusal === undefined && silent(entry)) entry.key.destroy();
}
