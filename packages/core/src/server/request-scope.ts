import { RpcError } from '../errors/rpc-error.js';
import { ErrorCodes } from '../protocol/codes.js';
import type { WireMetadata } from '../protocol/types.js';
import type { DeadlineEntry, DeadlineTimer } from '../recovery/deadline.js';
import type { IncomingContext, IncomingCredentials } from '../transport.js';
import type { Clock } from '../util/clock.js';
import { keepShapes } from '../util/shape-keepers.js';
import type { HandlerContext } from './types.js';

/** What a request's scope needs from its server. */
export interface ScopeOwner {
  readonly clock: Clock;
  /** True once the server aborted every request in flight (drain timed out, or close). */
  readonly closed: boolean;
  /** Scopes whose signal exists, so that the server can abort them at shutdown. */
  readonly active: Set<RequestScope>;
  /** One timer for the deadlines of every scope whose signal exists (not one timer per request). */
  readonly deadlines: DeadlineTimer;
  /** Scopes whose signal exists, by the connection they came on (one listener per connection). */
  readonly connections: ConnectionWatch;
}

/**
 * The scopes whose signal exists, by the connection signal of their {@link IncomingContext}:
 * one `abort` listener per connection aborts them all, instead of a listener added and removed
 * per request.
 */
export class ConnectionWatch {
  private readonly scopes = new WeakMap<AbortSignal, Set<RequestScope>>();

  add(connection: AbortSignal, scope: RequestScope): void {
    let scopes = this.scopes.get(connection);
    if (scopes === undefined) {
      const watched = new Set<RequestScope>();
      scopes = watched;
      this.scopes.set(connection, watched);
      connection.addEventListener(
        'abort',
        () => {
          for (const each of watched) each.abort(disconnectedError());
          watched.clear();
        },
        { once: true },
      );
    }
    scopes.add(scope);
  }

  delete(connection: AbortSignal, scope: RequestScope): void {
    this.scopes.get(connection)?.delete(scope);
  }
}

/**
 * The life of one request on the server, and the context its handler receives: the caller's
 * deadline, the caller's connection and the server's shutdown can each end it. The AbortSignal
 * is created only when the handler reads `signal`, and the clock is read only when there is a
 * deadline: most handlers never need either, and an AbortSignal is the dearest thing on this
 * path (on Node 20, `new AbortController().signal` alone costs a few microseconds: see
 * docs/benchmarks.md). A scope with a signal is timed by its server's shared
 * {@link DeadlineTimer} (no platform timer per request), is aborted at shutdown from the
 * server's set of active scopes, and at disconnect through {@link ConnectionWatch} (no listener
 * per request).
 */
export class RequestScope implements HandlerContext, DeadlineEntry {
  readonly transport: string;
  readonly remoteAddress: string | undefined;
  readonly credentials: IncomingCredentials | undefined;
  /** When the caller's deadline passes, on the owner's clock (`Infinity` without one). */
  deadlineAt = Number.POSITIVE_INFINITY;
  /** Owned by the owner's {@link DeadlineTimer}. */
  deadlineSlot = -1;
  private controller: AbortController | undefined;
  private reason: RpcError | undefined;
  private disposed = false;
  private readonly startedAt: number;

  constructor(
    private readonly owner: ScopeOwner,
    readonly method: string,
    readonly metadata: WireMetadata,
    private readonly incoming: IncomingContext,
    readonly auth: unknown,
  ) {
    this.transport = incoming.transport;
    this.remoteAddress = incoming.remoteAddress;
    this.credentials = incoming.credentials;
    this.startedAt = metadata.deadlineMs === undefined ? 0 : owner.clock.now();
  }

  /** The handler's signal (created on first use). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      // Read after the answer went out (a handler that kept its context): nothing is left to wait
      // for, and registering now would keep the scope in the server's set forever.
      const reason = this.reason ?? (this.disposed ? answeredError() : this.pendingReason());
      if (reason !== undefined) {
        this.reason = reason;
        controller.abort(reason);
      } else {
        const deadlineMs = this.metadata.deadlineMs;
        if (deadlineMs !== undefined) {
          this.deadlineAt = this.startedAt + deadlineMs;
          this.owner.deadlines.add(this);
        }
        if (this.incoming.signal !== undefined) this.owner.connections.add(this.incoming.signal, this);
        this.owner.active.add(this);
      }
    }
    return this.controller.signal;
  }

  remainingMs(): number {
    const deadlineMs = this.metadata.deadlineMs;
    if (deadlineMs === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, deadlineMs - (this.owner.clock.now() - this.startedAt));
  }

  /** True when the caller's deadline has passed. */
  get expired(): boolean {
    const deadlineMs = this.metadata.deadlineMs;
    if (deadlineMs === undefined) return false;
    // Timers may fire a fraction of a millisecond early: the fired timer is the authority.
    return (
      this.reason?.code === ErrorCodes.DeadlineExceeded ||
      this.owner.clock.now() - this.startedAt >= deadlineMs
    );
  }

  /** True when the server aborted this request while shutting down. */
  get closedByServer(): boolean {
    return this.reason === undefined ? this.owner.closed : this.reason.code === ErrorCodes.Aborted;
  }

  /** Aborts the handler (server shutdown, deadline, the caller gone); the first reason stays. */
  abort(reason: RpcError): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /** The deadline passed ({@link DeadlineTimer} calls this). */
  onDeadline(): void {
    this.abort(deadlineError());
  }

  /** Unregisters the scope (deadline, connection, shutdown); call once the handler settled. */
  dispose(): void {
    this.disposed = true;
    if (this.controller === undefined) return;
    this.owner.deadlines.remove(this);
    if (this.incoming.signal !== undefined) this.owner.connections.delete(this.incoming.signal, this);
    this.owner.active.delete(this);
  }

  /** Why the signal must be aborted the moment it is created, if it must. */
  private pendingReason(): RpcError | undefined {
    if (this.owner.closed) return serverClosedError();
    if (this.expired) return deadlineError();
    if (this.incoming.signal?.aborted) return disconnectedError();
    return undefined;
  }
}

function deadlineError(): RpcError {
  return new RpcError('timeout', 'deadline exceeded', { code: ErrorCodes.DeadlineExceeded });
}

function answeredError(): RpcError {
  return new RpcError('cancelled', 'the request was already answered');
}

function disconnectedError(): RpcError {
  return new RpcError('connection-lost', 'the caller disconnected');
}

/** The reason every in-flight handler's signal aborts with when the server closes without waiting. */
export function serverClosedError(): RpcError {
  return new RpcError('cancelled', 'the server closed', { code: ErrorCodes.Aborted });
}

// A scope kept for good, so that its shape outlives every request: an idle server's major GC
// would otherwise throw away the optimised code of the dispatch path (see `util/shape-keepers.ts`).
keepShapes(new RequestScope(undefined as never, '', {}, { transport: '', metadata: {} }, undefined));
