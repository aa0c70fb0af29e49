import type { Socket } from 'node:net';
import { ConnectionsPerAddress } from '@resilient-rpc/core';

/** Why a connection was refused: its first request is answered 503 -32002 with this message. */
export type Refusal = 'too many connections' | 'too many connections from this address';

/** Options of {@link ConnectionGuard}; see {@link HttpServerDefaults} for their defaults. */
export interface ConnectionGuardOptions {
  /** Most open connections before idle ones are given up and new ones refused. */
  readonly maxConnections: number;
  /** Most open connections from one remote address (0: no limit). */
  readonly maxConnectionsPerAddress: number;
  /** A connection that has sent no byte within this long after connecting is closed, ms (0: never). */
  readonly idleTimeoutMs: number;
  /** A refused connection that sends no request within this long is closed, ms. */
  readonly refusedGraceMs: number;
}

/** How many idle connections eviction looks at for one that sent nothing at all (bounds its cost). */
const EVICTION_SCAN = 64;

export interface Entry {
  readonly address: string;
  /** Requests of this connection being handled now. */
  busy: number;
  /** Whether a request ever reached the handler on it. */
  served: boolean;
  /** `bytesRead` when admitted (a TLS socket has read its handshake by then). */
  readonly baseline: number;
  refusal: Refusal | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Keeps the connections of one listener within its limits, so that idle connections cannot lock
 * callers out:
 *
 * - a connection that sends nothing within `idleTimeoutMs` is closed (node:http itself closes a
 *   keep-alive connection idle past its `keepAliveTimeout`, and headers that trickle in past
 *   `headersTimeout`);
 * - past `maxConnections`, a new connection makes room by closing the connection that has been idle
 *   longest (no request in progress: first one that never sent a byte, then a keep-alive one
 *   between requests, then one still sending its first headers); only when every connection is busy
 *   is the new one refused;
 * - past `maxConnectionsPerAddress` from one remote address, a new connection is refused.
 *
 * A refused connection is answered 503 -32002 (never run, safe to retry elsewhere) on its first
 * request and closed, or closed after `refusedGraceMs` if it sends none.
 */
export class ConnectionGuard {
  private readonly entries = new Map<Socket, Entry>();
  /** Connections no request has reached yet, oldest first. */
  private readonly fresh = new Set<Socket>();
  /** Keep-alive connections between requests, idle longest first. */
  private readonly idle = new Set<Socket>();
  private readonly perAddress = new ConnectionsPerAddress();

  constructor(private readonly options: ConnectionGuardOptions) {}

  /** Registers a new connection (TCP, or TLS once its handshake is done). */
  admit(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const fromAddress = this.perAddress.add(address);
    const entry: Entry = {
      address,
      busy: 0,
      served: false,
      baseline: socket.bytesRead,
      refusal: undefined,
      timer: undefined,
    };
    this.entries.set(socket, entry);
    this.fresh.add(socket);
    socket.once('close', () => this.forget(socket, entry));
    const { maxConnectionsPerAddress, maxConnections } = this.options;
    if (maxConnectionsPerAddress > 0 && fromAddress > maxConnectionsPerAddress) {
      // Not allowed to push out other addresses' connections.
      this.refuse(socket, entry, 'too many connections from this address');
      return;
    }
    if (this.entries.size > maxConnections && !this.evictIdle(socket)) {
      this.refuse(socket, entry, 'too many connections');
      return;
    }
    if (this.options.idleTimeoutMs > 0) {
      entry.timer = setTimeout(() => {
        // Bytes of a first request are arriving: node:http's header timeout governs them.
        if (!entry.served && socket.bytesRead === entry.baseline) socket.destroy();
      }, this.options.idleTimeoutMs);
      entry.timer.unref();
    }
  }

  /**
   * A request on `socket` reached the handler: its connection's entry (`busy` counts it, `refusal`
   * says why it is refused), or undefined for a connection not (or no longer) tracked.
   */
  requestStarted(socket: Socket): Entry | undefined {
    const entry = this.entries.get(socket);
    if (entry === undefined) return undefined;
    entry.busy++;
    if (!entry.served) {
      entry.served = true;
      this.fresh.delete(socket);
      if (entry.refusal === undefined) this.clearTimer(entry);
    }
    this.idle.delete(socket);
    return entry;
  }

  /** The request {@link requestStarted} returned `entry` for was answered (or abandoned). */
  requestEnded(socket: Socket, entry: Entry | undefined): void {
    if (entry === undefined || this.entries.get(socket) !== entry) return;
    entry.busy = Math.max(0, entry.busy - 1);
    if (entry.busy === 0 && !socket.destroyed) this.idle.add(socket);
  }

  private refuse(socket: Socket, entry: Entry, refusal: Refusal): void {
    entry.refusal = refusal;
    entry.timer = setTimeout(() => socket.destroy(), this.options.refusedGraceMs);
    entry.timer.unref();
  }

  /** Closes the connection idle longest to make room for `newcomer`; false when none is idle. */
  private evictIdle(newcomer: Socket): boolean {
    let victim: Socket | undefined;
    let scanned = 0;
    for (const socket of this.fresh) {
      if (socket === newcomer || scanned++ >= EVICTION_SCAN) break;
      if (socket.bytesRead === this.entries.get(socket)?.baseline) {
        victim = socket;
        break;
      }
    }
    victim ??= this.first(this.idle, newcomer) ?? this.first(this.fresh, newcomer);
    if (victim === undefined) return false;
    const entry = this.entries.get(victim);
    if (entry !== undefined) this.forget(victim, entry);
    victim.destroy();
    return true;
  }

  private first(set: Set<Socket>, except: Socket): Socket | undefined {
    for (const socket of set) if (socket !== except) return socket;
    return undefined;
  }

  private clearTimer(entry: Entry): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  private forget(socket: Socket, entry: Entry): void {
    if (this.entries.get(socket) !== entry) return;
    this.entries.delete(socket);
    this.fresh.delete(socket);
    this.idle.delete(socket);
    this.clearTimer(entry);
    this.perAddress.remove(entry.address);
  }
}
