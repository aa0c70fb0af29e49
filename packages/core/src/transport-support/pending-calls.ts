/**
 * The calls a multiplexed connection (one WebSocket, one NATS reply subscription) waits on, by
 * wire id. Shared by the adapters so that each of them settles a call exactly once, on its
 * response, its timeout (on the injected clock) or its abort signal, and forgets it at once.
 */
import type { RpcError } from '../errors/rpc-error.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * Hands out a call's abort signal on demand: the core's `SendOptions` (reading its `signal`
 * creates an AbortController, a noticeable share of a fast call's cost).
 */
export interface AbortSource {
  readonly signal: AbortSignal;
}

/** How long a call given an {@link AbortSource} waits before the table reads its signal, ms. */
export const PENDING_CALL_WATCH_AFTER_MS = 50;

/** How a table turns a timeout or an abort of one call into the adapter's error. */
export interface PendingCallErrors<C, T = unknown> {
  /** The error of a call that got no response within its `timeoutMs`. */
  timeout(call: PendingCall<T, C>): RpcError;
  /** The error of a call whose signal aborted (the core has moved on; the kind hardly matters). */
  aborted(call: PendingCall<T, C>): RpcError;
}

/** One waiting call: what the adapter registered, plus its deadline. */
export class PendingCall<T, C> {
  /** When the call times out, on the table's clock (ms). */
  readonly at: number;
  /** The signal the call listens to, once it does. */
  private watched: AbortSignal | undefined;

  /** @internal */
  constructor(
    /** @internal */
    readonly table: PendingCalls<unknown, T, C>,
    /** The wire id the call was registered under. */
    readonly id: unknown,
    /** What the adapter keeps with the call (its endpoint, its subject, whether it is a batch). */
    readonly context: C,
    /** The longest wait for the response, ms. */
    readonly timeoutMs: number,
    /** @internal */
    readonly source: AbortSignal | AbortSource | undefined,
    /** @internal */
    readonly onValue: (value: T) => void,
    /** @internal */
    readonly onError: (error: RpcError) => void,
  ) {
    this.at = table.clock.now() + timeoutMs;
  }

  /** The abort listener: one object per call serves as entry and listener (no closures). */
  handleEvent(): void {
    this.table.reject(this.id, this.table.errors.aborted(this));
  }

  /** @internal Listens to `signal`; false (and nothing listens) if it has aborted already. */
  watch(signal: AbortSignal): boolean {
    if (signal.aborted) return false;
    this.watched = signal;
    signal.addEventListener('abort', this);
    return true;
  }

  /** @internal Whether the call listens to a signal. */
  get watching(): boolean {
    return this.watched !== undefined;
  }

  /** @internal */
  unwatch(): void {
    this.watched?.removeEventListener('abort', this);
  }
}

/**
 * A map of wire id → waiting call with one timer for all of them: the timer is armed for the
 * earliest deadline and re-armed when it fires, so that registering a call costs no platform
 * timer (calls of one connection mostly share one timeout, each later than the one before).
 * Every call settles once: `resolve`, `reject`, its timeout, its signal or `rejectAll`.
 *
 * A call registered with an {@link AbortSource} instead of a signal listens to it only once it
 * has waited `watchAfterMs` (a second timer, on the same clock): a call answered sooner never
 * makes its source create a signal. An abort is then noticed at most `watchAfterMs` after the
 * call was registered (at once after that); the adapter forgets the call that much later.
 */
export class PendingCalls<K, T, C = undefined> {
  private readonly calls = new Map<K, PendingCall<T, C>>();
  private timer: TimerHandle | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  private watchTimer: TimerHandle | undefined;
  private readonly watchAfterMs: number;

  constructor(
    /** The clock the timeouts run on (`ConnectOptions.clock`). */
    readonly clock: Clock,
    /** The errors of timeouts and aborts. */
    readonly errors: PendingCallErrors<C, T>,
    options: { readonly watchAfterMs?: number } = {},
  ) {
    this.watchAfterMs = options.watchAfterMs ?? PENDING_CALL_WATCH_AFTER_MS;
  }

  /** Calls waiting now. */
  get size(): number {
    return this.calls.size;
  }

  /** The call waiting under `id`, if any. */
  get(id: K): PendingCall<T, C> | undefined {
    return this.calls.get(id);
  }

  /**
   * Registers a call under `id` (which must be unused) that fails with `errors.timeout` after
   * `timeoutMs` and with `errors.aborted` when `signal` aborts (at once if it already has; an
   * {@link AbortSource}'s signal is read only if the call is still waiting `watchAfterMs` later).
   */
  add(
    id: K,
    context: C,
    timeoutMs: number,
    signal: AbortSignal | AbortSource | undefined,
    onValue: (value: T) => void,
    onError: (error: RpcError) => void,
  ): PendingCall<T, C> {
    const call = new PendingCall<T, C>(
      this as PendingCalls<unknown, T, C>,
      id,
      context,
      timeoutMs,
      signal,
      onValue,
      onError,
    );
    this.calls.set(id, call);
    if (signal !== undefined) {
      if (!isSignal(signal)) {
        this.watchTimer ??= this.clock.setTimeout(this.watchDue, this.watchAfterMs);
      } else if (!call.watch(signal)) {
        this.reject(id, this.errors.aborted(call));
        return call;
      }
    }
    if (call.at < this.armedAt) this.arm(call.at);
    return call;
  }

  /** Settles the call under `id` with its response; false if none waits (late or unknown). */
  resolve(id: K, value: T): boolean {
    const call = this.take(id);
    if (call === undefined) return false;
    call.onValue(value);
    return true;
  }

  /** Fails the call under `id`; false if none waits. */
  reject(id: K, error: RpcError): boolean {
    const call = this.take(id);
    if (call === undefined) return false;
    call.onError(error);
    return true;
  }

  /**
   * Fails every waiting call (or those `which` selects) with the error `makeError` builds for it:
   * the connection was lost or closed.
   */
  rejectAll(
    makeError: (call: PendingCall<T, C>) => RpcError,
    which?: (call: PendingCall<T, C>) => boolean,
  ): void {
    for (const call of [...this.calls.values()]) {
      if (which === undefined || which(call)) this.reject(call.id as K, makeError(call));
    }
    if (this.calls.size === 0) {
      this.disarm();
      this.watchTimer?.cancel();
      this.watchTimer = undefined;
    }
  }

  private take(id: K): PendingCall<T, C> | undefined {
    const call = this.calls.get(id);
    if (call === undefined) return undefined;
    this.calls.delete(id);
    call.unwatch();
    return call;
  }

  /**
   * The watch timer: calls registered `watchAfterMs` ago or earlier and still waiting listen to
   * their source's signal. The map iterates in registration order, so the scan stops at the first
   * younger call; it keeps no settled call alive (a young-generation GC would copy them all).
   */
  private readonly watchDue = (): void => {
    this.watchTimer = undefined;
    const due = this.clock.now() - this.watchAfterMs;
    for (const call of this.calls.values()) {
      const since = call.at - call.timeoutMs;
      if (since > due) {
        this.watchTimer = this.clock.setTimeout(this.watchDue, since - due);
        return;
      }
      if (call.source !== undefined && !call.watching && !call.watch((call.source as AbortSource).signal))
        this.reject(call.id as K, this.errors.aborted(call));
    }
  };

  private arm(at: number): void {
    this.timer?.cancel();
    this.armedAt = at;
    this.timer = this.clock.setTimeout(this.expire, Math.max(0, at - this.clock.now()));
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
  }

  /** The timer: fails the calls that are due and re-arms for the earliest of the others. */
  private readonly expire = (): void => {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    const due: PendingCall<T, C>[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const call of this.calls.values()) {
      if (call.at <= now) due.push(call);
      else if (call.at < next) next = call.at;
    }
    for (const call of due) this.reject(call.id as K, this.errors.timeout(call));
    if (next < this.armedAt) this.arm(next);
  };
}

const isSignal = (value: AbortSignal | AbortSource): value is AbortSignal =>
  typeof (value as AbortSignal).addEventListener === 'function';
