import { RpcError } from '../errors/rpc-error.js';
import { ErrorCodes } from '../protocol/codes.js';
import type { WireMetadata } from '../protocol/types.js';
import type { IncomingContext, IncomingCredentials } from '../transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { HandlerContext } from './types.js';

/** What a request's scope needs from its server. */
export interface ScopeOwner {
  readonly clock: Clock;
  /** True once the server aborted every request in flight (drain timed out, or close). */
  readonly closed: boolean;
  /** Scopes whose signal exists, so that the server can abort them at shutdown. */
  readonly active: Set<RequestScope>;
}

/**
 * The life of one request on the server, and the context its handler receives: the caller's
 * deadline, the caller's connection and the server's shutdown can each end it. The AbortSignal,
 * its deadline timer and the connection listener are created only when the handler reads
 * `signal`, and the clock is read only when there is a deadline: most handlers never need
 * either, and an AbortController per request is one of the dearest things on a hot path.
 */
export class RequestScope implements HandlerContext {
  readonly transport: string;
  readonly remoteAddress: string | undefined;
  readonly credentials: IncomingCredentials | undefined;
  private controller: AbortController | undefined;
  private reason: RpcError | undefined;
  private timer: TimerHandle | undefined;
  private onDisconnect: (() => void) | undefined;
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
          this.timer = this.owner.clock.setTimeout(() => this.abort(deadlineError()), this.remainingMs());
        }
        if (this.incoming.signal !== undefined) {
          this.onDisconnect = () => this.abort(disconnectedError());
          this.incoming.signal.addEventListener('abort', this.onDisconnect, { once: true });
        }
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

  /** Releases the timer and listeners; call once the handler settled. */
  dispose(): void {
    this.disposed = true;
    if (this.controller === undefined) return;
    this.timer?.cancel();
    if (this.onDisconnect !== undefined)
      this.incoming.signal?.removeEventListener('abort', this.onDisconnect);
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
