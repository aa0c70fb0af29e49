import type { RpcError } from '../errors/rpc-error.js';
import { Reconnector } from '../recovery/reconnect.js';
import type { ConnectionStatus } from '../transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { aborted, closedByClient, connectFailed, gaveUp, notOpen, queueFull } from './connection-errors.js';
import { ConnectionEvents } from './connection-events.js';

/** Options of {@link PersistentConnection}: its bounds and what the adapter does with its connections. */
export interface PersistentConnectionOptions<S, K> {
  /** The endpoint's URL, for the errors. */
  readonly endpoint: string;
  readonly clock: Clock;
  /** The jitter of reconnects (and of the first attempt after a drop). */
  readonly random: Random;
  /** Reconnect backoff (the core's {@link Reconnector}); `baseMs` also spreads the first attempt after a drop. */
  readonly reconnect: {
    readonly baseMs: number;
    readonly capMs: number;
    readonly maxAttempts: number;
    readonly stableAfterMs: number;
  };
  /** Most calls waiting for the connection to open; more are refused as overloaded. */
  readonly maxQueued: number;
  /** Opens one connection; resolves once it can carry calls, rejects if it failed. */
  open(signal: AbortSignal): Promise<S>;
  /** The connection is the open one now: listen to it (the queued calls are written next). */
  attached(connection: S): void;
  /** The connection is no longer the open one (dropped or closed): stop listening to it. */
  detached(connection: S): void;
  /** Ends a connection at once. */
  terminate(connection: S): void;
  /** Writes a queued call on the connection just opened. */
  write(key: K): void;
  /** Fails every call written on the connection (`true`) or every call queued (`false`). */
  fail(written: boolean, error: RpcError): void;
}

/**
 * The life cycle of a client connection that stays open and is shared by every call to one
 * endpoint (`ClientConnection`'s `status` and events): opened on the first call, calls made
 * before it opens queued (by the adapter's keys, at most `maxQueued`) and written once it is;
 * when it drops, the calls written on it fail at once and it reconnects in the background (the
 * first attempt jittered too: every client of a restarting server sees the drop at once) with
 * the core's {@link Reconnector}; after its most attempts, calls fail fast until the next one
 * starts a new run; `close()` fails what waits and stops for good. The adapter opens, listens
 * to and ends its library's connections, writes and answers calls (its pending-call table) and
 * reports a drop. Used by the WebSocket client; any adapter of a connection of its own (a raw
 * TCP or Unix socket, a multiplexed stream) can use it.
 */
export class PersistentConnection<S, K> {
  /** The connection's `onEvent` listeners. */
  readonly events = new ConnectionEvents();
  private currentStatus: ConnectionStatus = 'idle';
  private current: S | undefined;
  /** Keys of calls waiting for the connection to open, in order. */
  private readonly queue = new Set<K>();
  private readonly reconnector: Reconnector<S>;
  private gaveUp = false;
  private dropJitter: TimerHandle | undefined;
  private isClosed = false;
  private connecting = false;
  private lastError: RpcError | undefined;

  constructor(private readonly options: PersistentConnectionOptions<S, K>) {
    this.reconnector = new Reconnector(
      (signal) =>
        options.open(signal).catch((error: unknown) => {
          // Connect refused: nothing queued was written, so it may go elsewhere at once.
          throw this.failConnect(error, this.isClosed ? undefined : 'reconnecting');
        }),
      { ...options.reconnect, discard: (connection) => options.terminate(connection) },
      options.clock,
      options.random,
    );
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** The open connection, if there is one. */
  get connection(): S | undefined {
    return this.current;
  }

  /** Connect attempts since the last stable connection. */
  get attempts(): number {
    return this.reconnector.attempts;
  }

  /** The last error that closed or refused the connection (diagnostics). */
  get error(): RpcError | undefined {
    return this.lastError;
  }

  /** Whether `close()` was called (a connection that gave up also reports `closed`). */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Why a call made while the connection is not open cannot wait for it (closed, aborted, given
   * up, queue full), or undefined: the adapter registers the call, then {@link enqueue}s it.
   */
  refusal(source: { readonly signal: AbortSignal }): RpcError | undefined {
    const endpoint = this.options.endpoint;
    if (this.isClosed) return notOpen(endpoint, 'the connection is closed');
    if (source.signal.aborted) return aborted(endpoint, false);
    if (this.gaveUp) {
      this.ensureConnecting();
      return gaveUp(endpoint, this.lastError);
    }
    if (this.queue.size >= this.options.maxQueued) return queueFull(endpoint, this.queue.size);
    return undefined;
  }

  /** Queues a call until the connection opens (and opens it). */
  enqueue(key: K): void {
    this.queue.add(key);
    this.ensureConnecting();
  }

  /** A queued call settled: it leaves the queue, so that `maxQueued` counts live calls only. */
  dequeue(key: K): void {
    this.queue.delete(key);
  }

  /** Opens the connection unless it is open, opening, waiting for a drop's jitter or closed. */
  ensureConnecting(): void {
    if (this.isClosed || this.currentStatus === 'open' || this.connecting || this.dropJitter) return;
    this.connecting = true;
    if (this.currentStatus === 'idle') this.setStatus('connecting');
    this.reconnector.reconnect().then(
      (connection) => {
        this.connecting = false;
        this.gaveUp = false;
        this.attach(connection);
      },
      (error: unknown) => {
        this.connecting = false;
        if (this.isClosed) return;
        // Gave up after maxAttempts: fail what waits; the next call starts a new run.
        this.gaveUp = true;
        this.failConnect(error, 'closed');
      },
    );
  }

  /** The open connection is gone (`error`: why): fail what was written on it, reconnect in the background. */
  drop(error: RpcError): void {
    const connection = this.current;
    if (connection === undefined) return;
    this.detach(error);
    this.options.terminate(connection);
    this.reconnector.disconnected();
    if (this.isClosed) return;
    this.lastError = error;
    this.setStatus('reconnecting', error);
    // Spread the first attempt too: every client of a restarting server sees the drop at once.
    this.dropJitter?.cancel();
    this.dropJitter = this.options.clock.setTimeout(() => {
      this.dropJitter = undefined;
      this.ensureConnecting();
    }, this.options.random() * this.options.reconnect.baseMs);
  }

  /**
   * Closes for good: queued calls fail as not sent, written ones as lost, no reconnect. Returns
   * the connection that was open (or opening) for the adapter to close gracefully, if any.
   */
  close(): S | undefined {
    if (this.isClosed) return undefined;
    this.isClosed = true;
    this.dropJitter?.cancel();
    this.reconnector.stop();
    this.failQueued(closedByClient(this.options.endpoint, false));
    const connection = this.current;
    this.detach(closedByClient(this.options.endpoint, true));
    this.setStatus('closed');
    return connection;
  }

  private attach(connection: S): void {
    if (this.isClosed) {
      this.options.terminate(connection);
      return;
    }
    this.current = connection;
    this.reconnector.connected();
    this.options.attached(connection);
    this.lastError = undefined;
    this.setStatus('open');
    const queued = [...this.queue];
    this.queue.clear();
    for (const key of queued) this.options.write(key);
  }

  /** Forgets the connection and fails every written call with `error`. */
  private detach(error: RpcError): void {
    const connection = this.current;
    this.current = undefined;
    if (connection !== undefined) this.options.detached(connection);
    // Queued calls stay queued for the next connection; written ones may have been processed.
    this.options.fail(true, error);
  }

  /** A connect attempt (or the run) failed: nothing queued was written; fail it and report. */
  private failConnect(error: unknown, status: ConnectionStatus | undefined): RpcError {
    const rpcError = connectFailed(this.options.endpoint, error);
    this.lastError = rpcError;
    this.failQueued(rpcError);
    if (status !== undefined) this.setStatus(status, rpcError);
    return rpcError;
  }

  private failQueued(error: RpcError): void {
    this.queue.clear();
    this.options.fail(false, error);
  }

  private setStatus(status: ConnectionStatus, error?: RpcError): void {
    if (this.currentStatus === status && error === undefined) return;
    this.currentStatus = status;
    this.events.status(status, error);
  }
}
