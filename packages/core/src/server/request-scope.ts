import { RpcError } from '../errors/rpc-error.js';
import { ErrorCodes } from '../protocol/codes.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * The life of one request on the server: its deadline, the caller's connection and the server's
 * shutdown can each end it. The AbortSignal, its deadline timer and the connection listener are
 * created only when the handler reads `signal`: most handlers never do, and an AbortController
 * per request is one of the dearest things on a hot path.
 */
export class RequestScope {
  private controller: AbortController | undefined;
  private reason: RpcError | undefined;
  private timer: TimerHandle | undefined;
  private readonly startedAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly deadlineMs: number | undefined,
    private readonly connectionSignal: AbortSignal | undefined,
  ) {
    this.startedAt = clock.now();
  }

  /** The handler's signal (created on first use). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      const reason = this.reason ?? this.expiredReason() ?? this.disconnectedReason();
      if (reason !== undefined) {
        this.reason = reason;
        controller.abort(reason);
      } else {
        if (this.deadlineMs !== undefined) {
          this.timer = this.clock.setTimeout(() => this.abort(deadlineError()), this.remainingMs());
        }
        this.connectionSignal?.addEventListener('abort', this.onDisconnect, { once: true });
      }
    }
    return this.controller.signal;
  }

  remainingMs(): number {
    if (this.deadlineMs === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.deadlineMs - (this.clock.now() - this.startedAt));
  }

  /** True when the caller's deadline has passed. */
  get expired(): boolean {
    if (this.deadlineMs === undefined) return false;
    // Timers may fire a fraction of a millisecond early: the fired timer is the authority.
    return (
      this.reason?.code === ErrorCodes.DeadlineExceeded ||
      this.clock.now() - this.startedAt >= this.deadlineMs
    );
  }

  /** True when the server aborted this request while shutting down. */
  get closedByServer(): boolean {
    return this.reason?.code === ErrorCodes.Aborted;
  }

  /** Aborts the handler (server shutdown, deadline). */
  abort(reason: RpcError): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /** Whether `error` is this scope's own deadline abort, thrown back by the handler. */
  isDeadlineAbort(error: unknown): boolean {
    return error !== undefined && error === this.reason && this.reason.code === ErrorCodes.DeadlineExceeded;
  }

  dispose(): void {
    this.timer?.cancel();
    if (this.controller !== undefined) this.connectionSignal?.removeEventListener('abort', this.onDisconnect);
  }

  private readonly onDisconnect = () =>
    this.abort(new RpcError('connection-lost', 'the caller disconnected'));

  private expiredReason(): RpcError | undefined {
    return this.expired ? deadlineError() : undefined;
  }

  private disconnectedReason(): RpcError | undefined {
    return this.connectionSignal?.aborted
      ? new RpcError('connection-lost', 'the caller disconnected')
      : undefined;
  }
}

function deadlineError(): RpcError {
  return new RpcError('timeout', 'deadline exceeded', { code: ErrorCodes.DeadlineExceeded });
}
