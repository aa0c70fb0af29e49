import type { RpcError } from '../errors/rpc-error.js';
import type { Clock } from '../util/clock.js';

/** How long a call may wait and what aborts it (the core's `SendOptions` or `PingOptions`). */
export interface CallBounds {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/** The errors a call waiting in an {@link OpenWait} fails with (all `not-sent`: nothing went out). */
export interface OpenWaitErrors {
  /** The call's signal aborted while it waited. */
  aborted(): RpcError;
  /** The connection was not open within the call's wait, `waitMs`. */
  notOpenInTime(waitMs: number): RpcError;
  /** The connection reported a failure ({@link OpenWait.wake} with an error) while the call waited. */
  failed(error: RpcError): RpcError;
}

/**
 * The calls of a client connection that is not open yet (first connect, reconnect) waiting for
 * it: each waits at most `min(timeoutMs, maxWaitMs)`, so that a call never spends its whole
 * deadline on a server that cannot be reached, and fails at once when its signal aborts or the
 * connection reports a failure (a connect attempt failed, the connection closed). Used by the
 * NATS client's shared connection; any client that sends only over an open connection fits.
 */
export class OpenWait {
  private readonly waiters = new Set<(error?: RpcError) => void>();

  constructor(private readonly clock: Clock) {}

  /** Waits for {@link wake}; resolves with what is left of the call's bounds. */
  async wait(bounds: CallBounds, maxWaitMs: number, errors: OpenWaitErrors): Promise<CallBounds> {
    const { signal, timeoutMs } = bounds;
    const started = this.clock.now();
    const waitMs = Math.max(0, Math.min(timeoutMs, maxWaitMs));
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: RpcError) => {
        this.waiters.delete(waiter);
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const waiter = (error?: RpcError) => finish(error && errors.failed(error));
      const onAbort = () => finish(errors.aborted());
      // The timer keeps the process alive while the call waits, as a call on an open connection
      // does through its socket (there is none between two connect attempts): a script's
      // `await client.call()` settles instead of the process ending under it.
      const timer = this.clock.setTimeout(() => finish(errors.notOpenInTime(waitMs)), waitMs, {
        keepAlive: true,
      });
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
    return { signal, timeoutMs: timeoutMs - (this.clock.now() - started) };
  }

  /** Wakes every waiting call: it goes on when `error` is undefined (the connection opened), else fails. */
  wake(error?: RpcError): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter(error);
  }
}
