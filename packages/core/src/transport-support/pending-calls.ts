/**
 * The calls a multiplexed connection (one WebSocket, one NATS reply subscription) waits on, by
 * wire id. Shared by the adapters so that each of them settles a call exactly once, on its
 * response, its timeout (on the injected clock) or its abort signal, and forgets it at once.
 */
import type { RpcError } from '../errors/rpc-error.js';
import { type AbandonHook, UNWATCH_ABANDON, WATCH_ABANDON } from '../util/abandon-hook.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { keepShapes } from '../util/shape-keepers.js';

/** How a table turns a timeout or an abort of one call into the adapter's error. */
export interface PendingCallErrors<C, T = unknown> {
  /** The error of a call that got no response within its `timeoutMs`. */
  timeout(call: PendingCall<T, C>): RpcError;
  /** The error of a call whose signal aborted (the core has moved on; the kind hardly matters). */
  aborted(call: PendingCall<T, C>): RpcError;
}

/**
 * Where a call's abort signal comes from: the signal itself, or an object whose `signal` is made
 * when first read, which the table reads only once the call has waited
 * {@link PendingCallsOptions.watchSignalAfterMs}. The core's own `SendOptions` (its attempts) are
 * watched at once through a core-internal hook instead, which makes no signal: the table is told
 * when the core gives up on the attempt, and an adapter that reads `signal` itself still sees it
 * abort.
 */
export type AbortSource = AbortSignal | { readonly signal: AbortSignal };

/** Options of {@link PendingCalls}. */
export interface PendingCallsOptions {
  /**
   * Read the signal of an {@link AbortSource} that is not an `AbortSignal` only when the call is
   * still waiting this long after it was added, ms (0: at once). A call answered sooner never makes
   * its source create its signal (an `AbortController` and a listener per call); an abort is then
   * noticed up to this much later, which only delays forgetting a call the caller has left already.
   * The core's own `SendOptions` are not delayed: they are watched at once without a signal (see
   * {@link AbortSource}).
   */
  readonly watchSignalAfterMs?: number;
}

/** One waiting call: what the adapter registered, plus its deadline. */
export class PendingCall<T, C> {
  /** When the call times out, on the table's clock (ms). */
  readonly at: number;
  /** @internal Where its signal comes from while not read yet (the table's watch list). */
  source: { readonly signal: AbortSignal } | undefined = undefined;
  /** @internal The watch list's links (calls in the order added). */
  previousUnwatched: PendingCall<T, C> | undefined = undefined;
  /** @internal */
  nextUnwatched: PendingCall<T, C> | undefined = undefined;

  /** @internal */
  constructor(
    /** @internal */
    readonly table: PendingCalls<unknown, T, C>,
    /** The wire id the call was registered under. */
    readonly id: unknown,
    /**
     * What the adapter keeps with the call (its endpoint, its subject, whether it is a batch);
     * dropped once the call has settled (see {@link PendingCalls}).
     */
    readonly context: C,
    /** The longest wait for the response, ms. */
    readonly timeoutMs: number,
    /**
     * @internal The signal listened to (set once watched), or the core's attempt watched through
     * its hook (see {@link AbortSource}).
     */
    public signal: AbortSignal | AbandonHook | undefined,
    /** @internal */
    public onValue: (value: T) => void,
    /** @internal */
    public onError: (error: RpcError) => void,
    /** @internal When the call was added, on the table's clock (ms). */
    readonly addedAt: number,
  ) {
    this.at = addedAt + timeoutMs;
  }

  /** The abort listener: one object per call serves as entry and listener (no closures). */
  handleEvent(): void {
    this.table.reject(this.id, this.table.errors.aborted(this));
  }
}

/**
 * A map of wire id → waiting call with one timer for all of them: the timer is armed for the
 * earliest deadline and re-armed when it fires, so that registering a call costs no platform
 * timer (calls of one connection mostly share one timeout, each later than the one before).
 * Every call settles once: `resolve`, `reject`, its timeout, its signal or `rejectAll`.
 */
export class PendingCalls<K, T, C = undefined> {
  /** The calls waiting, by id, but {@link solo}. */
  private readonly calls = new Map<K, PendingCall<T, C>>();
  /**
   * A call added while no other waited (always the oldest waiting), kept out of {@link calls}:
   * at concurrency 1 the Map is never touched. A Map that goes from empty to one entry and back
   * on every call replaces its hash table every few calls (V8 reuses no deleted slot), and each
   * table replaced stays linked to its successor: once one was promoted to the old generation,
   * every later one survived each scavenge and was promoted in turn until the next full GC.
   */
  private solo: PendingCall<T, C> | undefined;
  private timer: TimerHandle | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  private readonly watchAfterMs: number;
  /**
   * Calls whose abort source is not read yet, oldest first: a list linked through the calls, so
   * that a call leaves it as it settles and nothing settled is kept alive.
   */
  private firstUnwatched: PendingCall<T, C> | undefined;
  private lastUnwatched: PendingCall<T, C> | undefined;
  private watchTimer: TimerHandle | undefined;

  constructor(
    /** The clock the timeouts run on (`ConnectOptions.clock`). */
    readonly clock: Clock,
    /** The errors of timeouts and aborts. */
    readonly errors: PendingCallErrors<C, T>,
    options: PendingCallsOptions = {},
  ) {
    this.watchAfterMs = options.watchSignalAfterMs ?? 0;
  }

  /** Calls waiting now. */
  get size(): number {
    return this.solo === undefined ? this.calls.size : this.calls.size + 1;
  }

  /** The call waiting under `id`, if any. */
  get(id: K): PendingCall<T, C> | undefined {
    const solo = this.solo;
    return solo !== undefined && solo.id === id ? solo : this.calls.get(id);
  }

  /**
   * Registers a call under `id` (which must be unused) that fails with `errors.timeout` after
   * `timeoutMs` and with `errors.aborted` when its signal aborts (at once if it already has; see
   * {@link AbortSource} for when a lazily made signal is read). `timeoutMs` runs from `startedAt`
   * on the table's clock (`SendOptions.startedAt`) if given, else from now.
   */
  add(
    id: K,
    context: C,
    timeoutMs: number,
    abort: AbortSource | undefined,
    onValue: (value: T) => void,
    onError: (error: RpcError) => void,
    startedAt?: number,
  ): PendingCall<T, C> {
    const call = new PendingCall<T, C>(
      this as PendingCalls<unknown, T, C>,
      id,
      context,
      timeoutMs,
      undefined,
      onValue,
      onError,
      startedAt ?? this.clock.now(),
    );
    if (this.solo === undefined && this.calls.size === 0) this.solo = call;
    else this.calls.set(id, call);
    if (abort !== undefined) {
      if (abort instanceof AbortSignal) {
        if (!this.listen(call, abort)) return call;
      } else if (WATCH_ABANDON in abort) {
        // The core's attempt: told when it is abandoned, at once and for nothing (no signal made).
        const hook = abort as typeof abort & AbandonHook;
        if (!hook[WATCH_ABANDON](call)) {
          this.reject(id, this.errors.aborted(call));
          return call;
        }
        call.signal = hook;
      } else if (this.watchAfterMs > 0) {
        call.source = abort;
        const last = this.lastUnwatched;
        call.previousUnwatched = last;
        if (last === undefined) this.firstUnwatched = call;
        else last.nextUnwatched = call;
        this.lastUnwatched = call;
        if (this.watchTimer === undefined)
          this.watchTimer = this.clock.setTimeout(this.watchDue, this.watchAfterMs);
      } else if (!this.listen(call, abort.signal)) {
        return call;
      }
    }
    if (call.at < this.armedAt) this.arm(call.at);
    return call;
  }

  /** Listens to the call's signal; false (and the call failed) if it has aborted already. */
  private listen(call: PendingCall<T, C>, signal: AbortSignal): boolean {
    if (signal.aborted) {
      this.reject(call.id as K, this.errors.aborted(call));
      return false;
    }
    call.signal = signal;
    signal.addEventListener('abort', call);
    return true;
  }

  /** The watch timer: reads the signals of the calls waiting `watchSignalAfterMs` or longer. */
  private readonly watchDue = (): void => {
    this.watchTimer = undefined;
    const due = this.clock.now() - this.watchAfterMs;
    let call = this.firstUnwatched;
    while (call !== undefined && call.addedAt <= due) {
      const source = call.source!;
      this.unwatch(call);
      this.listen(call, source.signal);
      call = this.firstUnwatched;
    }
    if (call !== undefined) {
      const wait = call.addedAt + this.watchAfterMs - this.clock.now();
      this.watchTimer = this.clock.setTimeout(this.watchDue, Math.max(1, wait));
    }
  };

  /** Takes a call off the watch list. */
  private unwatch(call: PendingCall<T, C>): void {
    const { previousUnwatched: previous, nextUnwatched: next } = call;
    if (previous === undefined) this.firstUnwatched = next;
    else previous.nextUnwatched = next;
    if (next === undefined) this.lastUnwatched = previous;
    else next.previousUnwatched = previous;
    call.source = call.previousUnwatched = call.nextUnwatched = undefined;
  }

  /** Settles the call under `id` with its response; false if none waits (late or unknown). */
  resolve(id: K, value: T): boolean {
    const call = this.take(id);
    if (call === undefined) return false;
    const { onValue } = call;
    forget(call);
    onValue(value);
    return true;
  }

  /** Fails the call under `id`; false if none waits. */
  reject(id: K, error: RpcError): boolean {
    const call = this.take(id);
    if (call === undefined) return false;
    const { onError } = call;
    forget(call);
    onError(error);
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
    for (const call of this.waiting()) {
      if (which === undefined || which(call)) this.reject(call.id as K, makeError(call));
    }
    if (this.size === 0) {
      this.disarm();
      this.watchTimer?.cancel();
      this.watchTimer = undefined;
    }
  }

  /** Every waiting call, oldest first (a copy: settling them does not disturb it). */
  private waiting(): PendingCall<T, C>[] {
    const calls = [...this.calls.values()];
    if (this.solo !== undefined) calls.unshift(this.solo);
    return calls;
  }

  private take(id: K): PendingCall<T, C> | undefined {
    let call = this.solo;
    if (call !== undefined && call.id === id) this.solo = undefined;
    else {
      call = this.calls.get(id);
      if (call === undefined) return undefined;
      this.calls.delete(id);
    }
    if (call.source !== undefined) this.unwatch(call);
    else {
      const signal = call.signal;
      if (signal !== undefined) {
        if (signal instanceof AbortSignal) signal.removeEventListener('abort', call);
        else signal[UNWATCH_ABANDON](call);
        call.signal = undefined;
      }
    }
    return call;
  }

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
    for (const call of this.waiting()) {
      if (call.at <= now) due.push(call);
      else if (call.at < next) next = call.at;
    }
    for (const call of due) this.reject(call.id as K, this.errors.timeout(call));
    if (next < this.armedAt) this.arm(next);
  };
}

// A waiting call kept for good, so that its shape outlives every call: a connection idle at a
// major GC would otherwise lose the optimised code of its send and answer paths (see
// `util/shape-keepers.ts`).
keepShapes(new PendingCall<unknown, unknown>(undefined as never, 0, undefined, 0, undefined, noop, noop, 0));

function noop(): void {}

/**
 * Drops what a settled call holds (the adapter's context, its callbacks and through them the
 * request, its promise and its answer). The table's `Map` may still reach the call for a while: V8
 * keeps a `Map`'s replaced hash table linked to its successor, entries and all, so once one table
 * was promoted to the old generation, every later table and every call they listed survived each
 * scavenge until the next full GC (with an HTTP request, its response and promise: ~6 KB a call
 * copied and promoted at concurrency 64). Emptied, a call is a few words.
 */
function forget<T, C>(call: PendingCall<T, C>): void {
  (call as { context: C | undefined }).context = undefined;
  call.onValue = noop;
  call.onError = noop;
}
