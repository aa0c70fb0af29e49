import {
  CancelledError,
  ConnectionLostError,
  NotSentError,
  OverloadedError,
  ProtocolError,
  RejectedError,
  RemoteError,
  type RpcFailure,
  retriesExhausted,
  TimeoutError,
  toRpcError,
} from '../errors/kinds.js';
import type { RpcError } from '../errors/rpc-error.js';
import { ErrorCodes, NOT_PROCESSED_CODES } from '../protocol/codes.js';
import type { JsonRpcParams, JsonRpcRequest, JsonRpcResponse, WireMetadata } from '../protocol/types.js';
import type { DeadlineEntry } from '../recovery/deadline.js';
import type { EndpointNeed } from '../recovery/failover.js';
import { GiveUpReason } from '../recovery/retry-policy.js';
import type { SendOptions } from '../transport.js';
import {
  type AbandonHook,
  type AbandonListener,
  UNWATCH_ABANDON,
  WATCH_ABANDON,
} from '../util/abandon-hook.js';
import type { TimerHandle } from '../util/clock.js';
import { keepShapes } from '../util/shape-keepers.js';
import type { Endpoint, PendingAttempt } from './endpoint.js';
import type { CallPipeline } from './pipeline.js';
import type { BatchResult } from './types.js';

/** What a call sends: a request expecting an answer, a notification, or a JSON-RPC batch. */
export type CallShape = 'request' | 'notification' | 'batch';

/** The method name events carry for a batch (`rpc.` names are reserved by JSON-RPC, so no method has it). */
export const BATCH_METHOD = 'rpc.batch';

/**
 * Everything a call is created with but its params (resolved options; validated by the client).
 * A call made with no call options shares the profile of its method (no object per call).
 */
export class CallProfile {
  constructor(
    /** The client's policies (kept here, not on each call: one field less per call in flight). */
    readonly pipeline: CallPipeline,
    readonly shape: CallShape,
    readonly method: string,
    readonly batch: readonly JsonRpcRequest[] | undefined,
    readonly idempotent: boolean,
    readonly deadlineMs: number,
    readonly attemptTimeoutMs: number | undefined,
    readonly maxAttempts: number,
    readonly hedge: boolean,
    readonly traceId: string | undefined,
    readonly signal: AbortSignal | undefined,
    /** W3C `traceparent` and `tracestate` sent with every attempt (validated by the client). */
    readonly traceContext: TraceContext | undefined = undefined,
  ) {}
}

/** The W3C Trace Context a call sends with each attempt. */
export interface TraceContext {
  readonly traceparent: string;
  readonly tracestate: string | undefined;
}

/** Everything a call is created with (resolved options; validated by the client). */
export interface CallSpec {
  readonly shape: CallShape;
  readonly method: string;
  readonly params: JsonRpcParams | undefined;
  /** The requests of a batch (`shape` batch). */
  readonly batch: readonly JsonRpcRequest[] | undefined;
  readonly idempotent: boolean;
  readonly deadlineMs: number;
  readonly attemptTimeoutMs: number | undefined;
  readonly maxAttempts: number;
  readonly hedge: boolean;
  readonly traceId: string | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * One call: its state, and the methods that move it along. A call starts one attempt, then, as
 * the pipeline's policies decide, retries (after a failed attempt), hedges (after a delay) or
 * rescues (when its endpoint turns bad); the first answer settles it, and every other attempt
 * still running is cancelled. Its deadline (one entry in the shared deadline timer) and the
 * caller's signal end it whatever its attempts are doing.
 */
export class Call implements DeadlineEntry, CallSpec {
  readonly id: number;
  readonly params: JsonRpcParams | undefined;
  /** The call's settings; shared by every call made with the same method and no call options. */
  readonly profile: CallProfile;
  readonly startedAt: number;
  deadlineSlot = -1;
  /** Attempts started so far (hedges and rescues included) × 2, + 1 once settled (one field for both). */
  private state = 0;
  /**
   * Settles the caller's promise. Only `resolve` is kept (one closure less per call in flight): a
   * failure resolves it with a {@link Rejection}, which rejects it one microtask later.
   */
  private resolve!: (value: unknown) => void;
  /**
   * The latest attempt (kept once it ended, for its endpoint). It is running while it is
   * {@link Attempt.live}; older attempts still running (beside a hedge or rescue copy) are in
   * `more.copies`.
   */
  private latest: Attempt | undefined;
  /** State only some calls need (retries, copies, admission queue), created on first use. */
  private more: CallExtras | undefined;

  constructor(id: number, now: number, profile: CallProfile, params: JsonRpcParams | undefined) {
    this.id = id;
    this.profile = profile;
    this.params = params;
    this.startedAt = now;
  }

  /** The client's policies. */
  /** Attempts started so far (hedges and rescues included). */
  get attempts(): number {
    return this.state >> 1;
  }
  /** Whether the call has settled. */
  private get done(): boolean {
    return (this.state & 1) !== 0;
  }
  /** The endpoint of the latest attempt. */
  get endpoint(): Endpoint | undefined {
    return this.latest?.endpoint;
  }
  /** The client's policies. */
  get pipeline(): CallPipeline {
    return this.profile.pipeline;
  }
  /** Clock time the deadline passes at (computed: one number less per call in flight). */
  get deadlineAt(): number {
    return this.startedAt + this.profile.deadlineMs;
  }

  get shape(): CallShape {
    return this.profile.shape;
  }
  get method(): string {
    return this.profile.method;
  }
  get batch(): readonly JsonRpcRequest[] | undefined {
    return this.profile.batch;
  }
  get idempotent(): boolean {
    return this.profile.idempotent;
  }
  get deadlineMs(): number {
    return this.profile.deadlineMs;
  }
  get attemptTimeoutMs(): number | undefined {
    return this.profile.attemptTimeoutMs;
  }
  get maxAttempts(): number {
    return this.profile.maxAttempts;
  }
  get hedge(): boolean {
    return this.profile.hedge;
  }
  get traceId(): string | undefined {
    return this.profile.traceId;
  }
  get signal(): AbortSignal | undefined {
    return this.profile.signal;
  }

  private extras(): CallExtras {
    let more = this.more;
    if (more === undefined) more = this.more = new CallExtras();
    return more;
  }

  /** Starts the call (deadline, cancellation, admission, then the first attempt); returns its outcome. */
  start(): Promise<unknown> {
    const promise = new Promise(capture);
    this.resolve = captured.resolve!;
    this.begin();
    return promise;
  }

  private begin(): void {
    const pipeline = this.pipeline;
    const totals = pipeline.totals;
    totals.calls++;
    totals.inFlight++;
    if (this.profile.deadlineMs !== Number.POSITIVE_INFINITY) pipeline.deadline.add(this);
    else pipeline.deadline.hold();
    const signal = this.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.fail(new CancelledError('the call was cancelled before it started', { cause: signal.reason }));
        return;
      }
      signal.addEventListener('abort', this);
    }
    pipeline.retry.recordCall(this.startedAt);
    pipeline.stall?.callStarted(this.startedAt);
    const bulkhead = pipeline.bulkhead;
    if (bulkhead === undefined || bulkhead.tryAcquire()) {
      if (bulkhead !== undefined) this.extras().admitted = true;
      this.first(this.startedAt);
      return;
    }
    const controller = new AbortController();
    this.extras().controller = controller;
    bulkhead.acquire(controller.signal).then(
      (admitted) => {
        if (this.done) {
          if (admitted) bulkhead.release();
          return;
        }
        if (!admitted) {
          this.fail(new OverloadedError(`the client has ${bulkhead.inFlight} calls in flight (maxInFlight)`));
          return;
        }
        this.extras().admitted = true;
        this.first(this.pipeline.clock.now());
      },
      () => {}, // aborted: the call has already settled
    );
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    this.abandon(new CancelledError('the call was cancelled', { cause: this.signal?.reason }));
  }

  /** The deadline passed. */
  onDeadline(): void {
    this.abandon(new TimeoutError(`deadline of ${Math.round(this.deadlineMs)} ms exceeded`));
  }

  /** Whether a call with this endpoint's waiting attempt may be copied elsewhere (see rescue). */
  get rescuable(): boolean {
    return !this.done && this.pipeline.rescue.appliesTo(this.idempotent);
  }

  /** Milliseconds left before the deadline, at client time `now`. */
  remainingMs(now: number): number {
    return this.deadlineAt - now;
  }

  /** An attempt answered. */
  attemptSucceeded(attempt: Attempt, value: unknown, now: number): void {
    this.forget(attempt);
    if (this.done) return;
    this.succeed(value, now);
  }

  /** An attempt failed (or was abandoned by its own timeout). */
  attemptFailed(attempt: Attempt, error: RpcError, now: number): void {
    this.forget(attempt);
    if (this.done) return;
    if (error.kind === 'cancelled' && this.signal?.aborted) return;
    (this.extras().errors ??= []).push(error);
    (this.extras().failed ??= new Set()).add(attempt.endpoint);
    if (this.hasRunning()) return; // a copy may yet answer
    const pipeline = this.pipeline;
    const decision = pipeline.retry.decide(error, {
      attempts: this.attempts,
      maxAttempts: this.maxAttempts,
      idempotent: this.idempotent,
      remainingMs: this.deadlineAt - now,
      attemptTimeout: this.attemptTimeoutMs !== undefined,
      hasAlternative: pipeline.selector.hasAlternative(this.more?.failed, now),
    });
    if (typeof decision === 'string') {
      if (decision === GiveUpReason.budget) this.budgetExhausted(now);
      this.giveUp(decision, now);
      return;
    }
    pipeline.totals.retries++;
    if (pipeline.events.has('retry')) {
      pipeline.events.emit('retry', {
        at: now,
        callId: this.id,
        method: this.method,
        attempt: this.attempts + 1,
        delayMs: decision,
        cause: error,
      });
    }
    if (decision <= 0) this.retry(now);
    else
      this.extras().timer = pipeline.clock.setTimeout(() => this.retry(this.pipeline.clock.now()), decision);
  }

  /**
   * The endpoint `attempt` waits on turned suspect, down or ejected: an idempotent call gets a
   * copy on another healthy endpoint at once (within the retry budget).
   */
  rescue(attempt: Attempt): void {
    if (!this.rescuable) return;
    this.sendCopy(attempt.endpoint, true, this.pipeline.clock.now());
  }

  private first(now: number): void {
    if (this.done) return;
    if (!this.launch(undefined, false, now)) {
      this.fail(new NotSentError('the client has no endpoints'));
      return;
    }
    this.scheduleHedge(now);
  }

  private retry(now: number): void {
    if (this.more !== undefined) this.more.timer = undefined;
    if (this.done) return;
    if (!this.launch(undefined, false, now)) this.giveUp(GiveUpReason.noEndpoint, now);
    else this.scheduleHedge(now);
  }

  /** Starts an attempt on `target`, or on the endpoint the selector picks. False when there is none. */
  private launch(target: Endpoint | undefined, copy: boolean, now: number): boolean {
    const pipeline = this.pipeline;
    const need: EndpointNeed = this.shape === 'batch' ? 'batch' : 'any';
    const endpoint = target ?? pipeline.selector.pick(this.more?.failed, now, need);
    if (endpoint === undefined) return false;
    this.state += 2;
    const number = this.state >> 1;
    pipeline.totals.attempts++;
    const previous = this.endpoint;
    const events = pipeline.events;
    if (!copy && previous !== undefined && previous !== endpoint) {
      pipeline.totals.failovers++;
      if (events.has('failover')) {
        events.emit('failover', {
          at: now,
          callId: this.id,
          method: this.method,
          from: previous.url,
          to: endpoint.url,
          attempt: number,
        });
      }
    }
    if (events.has('attempt')) {
      events.emit('attempt', {
        at: now,
        callId: this.id,
        method: this.method,
        endpoint: endpoint.url,
        attempt: number,
        hedge: copy,
      });
    }
    const attempt = new Attempt(this, endpoint, number, now);
    const latest = this.latest;
    if (latest?.live) (this.extras().copies ??= []).push(latest);
    this.latest = attempt;
    attempt.send(now);
    return true;
  }

  private scheduleHedge(now: number): void {
    const hedging = this.pipeline.hedging;
    if (hedging === undefined || !this.hedge || this.done || (this.more?.hedges ?? 0) >= hedging.maxHedges)
      return;
    this.extras().hedgeTimer = this.pipeline.clock.setTimeout(
      () => this.onHedgeDelay(),
      hedging.delayMs(now),
    );
  }

  private onHedgeDelay(): void {
    this.extras().hedgeTimer = undefined;
    const endpoint = this.endpoint;
    if (this.done || endpoint === undefined || !this.hasRunning()) return;
    const now = this.pipeline.clock.now();
    if (!this.sendCopy(endpoint, false, now)) return;
    this.extras().hedges++;
    this.scheduleHedge(now);
  }

  /**
   * Sends an extra copy of the call (a hedge or a rescue) to an endpoint other than `avoid`,
   * taking a retry-budget token; the first answer wins. False when there is no such endpoint
   * (`usableOnly`: none that is healthy) or no token.
   */
  private sendCopy(avoid: Endpoint, usableOnly: boolean, now: number): boolean {
    const pipeline = this.pipeline;
    const exclude = new Set(this.more?.failed);
    exclude.add(avoid);
    const need: EndpointNeed = this.shape === 'batch' ? 'batch' : 'any';
    const target = pipeline.selector.pick(exclude, now, need);
    if (target === undefined || target === avoid || (usableOnly && !target.usableAt(now))) return false;
    if (!pipeline.retry.withdraw()) {
      this.budgetExhausted(now);
      return false;
    }
    pipeline.totals.hedges++;
    if (pipeline.events.has('hedge')) {
      pipeline.events.emit('hedge', {
        at: now,
        callId: this.id,
        method: this.method,
        endpoint: target.url,
        attempt: this.attempts + 1,
      });
    }
    return this.launch(target, true, now);
  }

  private hasRunning(): boolean {
    const copies = this.more?.copies;
    return this.latest?.live === true || (copies !== undefined && copies.length > 0);
  }

  /** An attempt reported (it is no longer {@link Attempt.live}): it leaves the copies. */
  private forget(attempt: Attempt): void {
    if (this.latest === attempt) return;
    const copies = this.more?.copies;
    const index = copies === undefined ? -1 : copies.indexOf(attempt);
    if (index >= 0) copies!.splice(index, 1);
  }

  private budgetExhausted(now: number): void {
    this.pipeline.totals.budgetExhausted++;
    if (this.pipeline.events.has('budget-exhausted'))
      this.pipeline.events.emit('budget-exhausted', { at: now, callId: this.id, method: this.method });
  }

  /** The deadline passed or the caller cancelled: every running attempt is abandoned with `reason`. */
  private abandon(reason: RpcFailure): void {
    if (this.done) return;
    const errors = this.more?.errors;
    this.cancelRunning(reason, false);
    if (errors === undefined) this.fail(reason);
    else {
      errors.push(reason);
      this.giveUp(reason.kind === 'timeout' ? GiveUpReason.deadline : undefined, this.pipeline.clock.now());
    }
  }

  private giveUp(reason: GiveUpReason | undefined, now: number): void {
    const errors = this.more?.errors ?? [];
    // The reason is worth saying only when the last error does not already say it.
    const detail =
      reason === GiveUpReason.budget ||
      reason === GiveUpReason.noEndpoint ||
      reason === GiveUpReason.notRetryable
        ? reason
        : undefined;
    const error = errors.length === 1 ? errors[0]! : retriesExhausted(errors, detail);
    if (this.pipeline.events.has('give-up')) {
      this.pipeline.events.emit('give-up', {
        at: now,
        callId: this.id,
        method: this.method,
        attempts: this.attempts,
        cause: error,
      });
    }
    this.fail(error);
  }

  private succeed(value: unknown, now: number): void {
    this.finish(now);
    const pipeline = this.pipeline;
    pipeline.totals.succeeded++;
    if (pipeline.events.has('call')) {
      pipeline.events.emit('call', {
        at: now,
        callId: this.id,
        method: this.method,
        ok: true,
        latencyMs: now - this.startedAt,
        attempts: this.attempts,
        endpoint: this.endpoint?.url,
      });
    }
    this.resolve(value);
  }

  private fail(error: RpcError): void {
    if (this.done) return;
    const pipeline = this.pipeline;
    const now = pipeline.clock.now();
    this.finish(now);
    pipeline.totals.failed++;
    if (pipeline.events.has('call')) {
      pipeline.events.emit('call', {
        at: now,
        callId: this.id,
        method: this.method,
        ok: false,
        latencyMs: now - this.startedAt,
        attempts: this.attempts,
        endpoint: this.endpoint?.url,
        error,
      });
    }
    this.resolve(new Rejection(error));
  }

  private finish(_now: number): void {
    this.state |= 1;
    const pipeline = this.pipeline;
    pipeline.totals.inFlight--;
    if (this.profile.deadlineMs !== Number.POSITIVE_INFINITY) pipeline.deadline.remove(this);
    else pipeline.deadline.release();
    this.signal?.removeEventListener('abort', this);
    const more = this.more;
    if (more !== undefined) {
      more.timer?.cancel();
      more.hedgeTimer?.cancel();
      more.controller?.abort();
      if (more.admitted) pipeline.bulkhead?.release();
    }
    // A hedge or rescue still running loses now.
    if (this.hasRunning()) this.cancelRunning(LOST, true);
  }

  private cancelRunning(reason: RpcError, lost: boolean): void {
    // In launch order: the older attempts, then the latest.
    const latest = this.latest;
    const copies = this.more?.copies;
    if (this.more !== undefined) this.more.copies = undefined;
    if (copies !== undefined) for (const copy of copies) copy.abandon(reason, lost);
    if (latest?.live) latest.abandon(reason, lost);
  }
}

/** The part of a call's state that only some calls need. */
class CallExtras {
  /** Attempts still running beside the latest (a hedge or rescue copy was sent after them). */
  copies: Attempt[] | undefined;
  /** Every failed attempt's error, in order. */
  errors: RpcError[] | undefined;
  /** Endpoints an attempt failed on (not tried again while another is available). */
  failed: Set<Endpoint> | undefined;
  hedges = 0;
  /** The backoff before the next retry. */
  timer: TimerHandle | undefined;
  hedgeTimer: TimerHandle | undefined;
  /** Created only when a queued bulkhead admission needs a signal. */
  controller: AbortController | undefined;
  /** The call holds a client bulkhead slot. */
  admitted = false;
}

/** Where {@link capture} leaves a new promise's resolving functions (no closure per call). */
const captured: { resolve: ((value: unknown) => void) | undefined } = { resolve: undefined };

function capture(resolve: (value: unknown) => void): void {
  captured.resolve = resolve;
}

/**
 * A failure, as a thenable: resolving a call's promise with it rejects that promise with `error`
 * (so that a call needs only its resolve function).
 */
class Rejection {
  constructor(private readonly error: unknown) {}
  // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose (see the class)
  then(_resolve: unknown, reject: (error: unknown) => void): void {
    reject(this.error);
  }
}

/** The call gave up on the attempt because another won: it still counts for stall suspicion. */
const LOST_FLAG = 1;
/** The attempt's call was rescued once already. */
const RESCUED_FLAG = 2;
/** The call has taken the attempt's outcome (or given up on it). */
const REPORTED_FLAG = 4;
/** The call gave up on the attempt (its reason: see {@link Attempt.abandonedWith}). */
const ABANDONED_FLAG = 8;
/** The transport read the signal: the attempt holds an AbortController. */
const SIGNAL_FLAG = 16;
/** The transport's pending-call table watches the attempt (`held` is its listener). */
const HOOK_FLAG = 32;
/** The attempt's number is stored in `flags` above the flag bits (× 64). */
const NUMBER_UNIT = 64;

/** The reason every attempt still running gets when another answered first. */
const LOST = new CancelledError('another attempt answered first');

/**
 * One attempt of a call on one endpoint. It is also the transport's {@link SendOptions}: its
 * `signal` (an AbortController) is created only if the transport reads it, so an attempt that
 * answers costs no controller.
 */
export class Attempt implements SendOptions, PendingAttempt, AbandonHook {
  readonly startedAt: number;
  previousOnEndpoint: PendingAttempt | undefined;
  nextOnEndpoint: PendingAttempt | undefined;
  /** The per-attempt timeout's entry in the shared deadline timer, when there is one. */
  private timeout: AttemptTimeout | undefined;
  /**
   * The attempt's number × {@link NUMBER_UNIT} + its flags ({@link LOST_FLAG}, {@link RESCUED_FLAG},
   * {@link REPORTED_FLAG}, {@link ABANDONED_FLAG}, {@link SIGNAL_FLAG}, {@link HOOK_FLAG}): one
   * field for all.
   */
  private flags: number;
  /**
   * One field for three things: the signal's AbortController once the transport read it
   * ({@link SIGNAL_FLAG}); before that, the listener of the transport's pending-call table while
   * it watches the attempt ({@link HOOK_FLAG}, see `util/abandon-hook.ts`), or the reason the call
   * gave up on the attempt, if it did (afterwards that reason is the signal's).
   */
  private held: AbortController | RpcError | AbandonListener | undefined;
  /**
   * The JSON-RPC id of the request sent (0 for a notification or a batch). Only the id is kept,
   * not the request: the transport may let the request go once it is written.
   */
  private requestId = 0;

  constructor(
    readonly call: Call,
    readonly endpoint: Endpoint,
    number: number,
    now: number,
  ) {
    this.flags = number * NUMBER_UNIT;
    this.startedAt = now;
    const attemptTimeoutMs = call.profile.attemptTimeoutMs;
    if (attemptTimeoutMs !== undefined) this.timeout = new AttemptTimeout(this, now + attemptTimeoutMs);
  }

  /**
   * The metadata sent with this attempt, built on each read from the attempt's fixed state (so
   * every read gives the same values): the attempt keeps no object for it while it waits. A
   * transport reads it once, when it writes the request.
   */
  get metadata(): WireMetadata {
    const call = this.call;
    const profile = call.profile;
    const remaining = call.deadlineAt - this.startedAt;
    const traceContext = profile.traceContext;
    // One literal with every member (adding members later would allocate a property store).
    return {
      // Every attempt carries the time left, so that the server stops when the caller has.
      deadlineMs: Number.isFinite(remaining) ? Math.max(0, Math.floor(remaining)) : undefined,
      attempt: this.number,
      idempotent: profile.idempotent ? true : undefined,
      traceId: profile.traceId,
      traceparent: traceContext?.traceparent,
      tracestate: traceContext?.tracestate,
    };
  }

  /** Milliseconds this attempt may take at most: the time left, or the attempt timeout if shorter. */
  get timeoutMs(): number {
    const remaining = this.call.deadlineAt - this.startedAt;
    const attemptTimeoutMs = this.call.attemptTimeoutMs;
    return attemptTimeoutMs === undefined ? remaining : Math.min(remaining, attemptTimeoutMs);
  }

  /** Aborts when the call gives up on this attempt (created on first read: see the class). */
  get signal(): AbortSignal {
    const flags = this.flags;
    if ((flags & SIGNAL_FLAG) !== 0) return (this.held as AbortController).signal;
    const held = this.held;
    const controller = new AbortController();
    this.held = controller;
    this.flags = (flags & ~HOOK_FLAG) | SIGNAL_FLAG;
    // A watching listener moves onto the signal: both are told, once, when the call gives up.
    if ((flags & HOOK_FLAG) !== 0) controller.signal.addEventListener('abort', held as AbandonListener);
    else if (held !== undefined) controller.abort(held);
    return controller.signal;
  }

  /**
   * The transport's pending-call table watches the attempt without making its signal: `listener`
   * is told once when the call gives up on it; false if it has already (see `util/abandon-hook.ts`).
   */
  [WATCH_ABANDON](listener: AbandonListener): boolean {
    const flags = this.flags;
    if ((flags & ABANDONED_FLAG) !== 0) return false;
    if ((flags & SIGNAL_FLAG) !== 0)
      (this.held as AbortController).signal.addEventListener('abort', listener);
    else {
      this.held = listener;
      this.flags = flags | HOOK_FLAG;
    }
    return true;
  }

  /** The table stops watching (the call settled). */
  [UNWATCH_ABANDON](listener: AbandonListener): void {
    const flags = this.flags;
    if ((flags & HOOK_FLAG) !== 0) {
      if (this.held === listener) {
        this.held = undefined;
        this.flags = flags & ~HOOK_FLAG;
      }
    } else if ((flags & SIGNAL_FLAG) !== 0)
      (this.held as AbortController).signal.removeEventListener('abort', listener);
  }

  /** Set when the call gave up on this attempt (won elsewhere, deadline, cancel, attempt timeout). */
  private get abandonedWith(): RpcError | undefined {
    if ((this.flags & ABANDONED_FLAG) === 0) return undefined;
    return (this.flags & SIGNAL_FLAG) !== 0
      ? ((this.held as AbortController).signal.reason as RpcError)
      : (this.held as RpcError);
  }

  /**
   * Gives up on the attempt with `reason` (once): the transport is told through the signal if it
   * read it, and the pending-call table watching the attempt through its listener (called here,
   * or by the signal it moved onto).
   */
  private abandonWith(reason: RpcError): void {
    const flags = this.flags;
    if ((flags & SIGNAL_FLAG) !== 0) {
      this.flags = flags | ABANDONED_FLAG;
      (this.held as AbortController).abort(reason);
      return;
    }
    const listener = (flags & HOOK_FLAG) !== 0 ? (this.held as AbandonListener) : undefined;
    this.held = reason;
    this.flags = (flags & ~HOOK_FLAG) | ABANDONED_FLAG;
    listener?.handleEvent();
  }

  /**
   * Sends the attempt and reports its outcome to the call and the endpoint. The transport's
   * promise gets two bound methods (no closure context per attempt).
   */
  send(now: number): void {
    const pending = this.transmit(now);
    if (pending === undefined) return;
    pending.then(this.answered.bind(this), this.failed.bind(this));
  }

  /** The transport answered. */
  private answered(response: JsonRpcResponse | JsonRpcResponse[] | undefined): void {
    this.settle(response, undefined);
  }

  /** The transport failed. */
  private failed(error: unknown): void {
    this.settle(undefined, toRpcError(error, 'protocol'));
  }

  /** Takes the breaker's permit and hands the request to the transport; undefined when refused. */
  private transmit(now: number): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> | undefined {
    const call = this.call;
    const endpoint = this.endpoint;
    if (this.timeoutMs <= 0) {
      this.report(
        new TimeoutError('the deadline was spent before the attempt could be sent', {
          endpoint: endpoint.url,
        }),
        now,
      );
      return undefined;
    }
    const breaker = endpoint.breaker;
    if (breaker !== undefined && !breaker.tryAcquire()) {
      this.report(
        new NotSentError(`the circuit breaker of ${endpoint.url} is ${breaker.state}`, {
          endpoint: endpoint.url,
        }),
        now,
      );
      return undefined;
    }
    endpoint.begin(this);
    if (this.timeout !== undefined) call.pipeline.deadline.add(this.timeout);
    const connection = endpoint.connection;
    try {
      if (call.shape === 'batch') return connection.sendBatch!(call.batch!, this);
      if (call.shape === 'request') this.requestId = call.pipeline.nextRequestId();
      return connection.send(this.request(), this);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Takes the transport's outcome: endpoint bookkeeping and feedback, then the call's turn. */
  private settle(
    response: JsonRpcResponse | JsonRpcResponse[] | undefined,
    failed: RpcError | undefined,
  ): void {
    const call = this.call;
    const pipeline = call.pipeline;
    const endpoint = this.endpoint;
    let failure = failed;
    if (this.timeout !== undefined) pipeline.deadline.remove(this.timeout);
    const end = pipeline.clock.now();
    const abandonedWith = this.abandonedWith;
    // An attempt abandoned without an answer (a lost copy, a timeout) still counts for stall suspicion.
    const abandoned =
      abandonedWith !== undefined && ((this.flags & LOST_FLAG) !== 0 || abandonedWith.kind === 'timeout');
    endpoint.end(this, abandoned || failure?.kind === 'timeout');
    if (endpoint.removed && endpoint.inFlight === 0) {
      pipeline.retired.delete(endpoint);
      void endpoint.close().catch(() => {});
    }
    let result: unknown;
    if (abandonedWith !== undefined) failure = abandonedWith;
    else if (failure === undefined) {
      if (call.shape === 'batch')
        result = batchResults(call.batch!, response as JsonRpcResponse[], endpoint.url);
      else if (call.shape === 'request') {
        failure = readResponse(response as JsonRpcResponse | undefined, this.requestId, endpoint.url);
        if (failure === undefined) result = (response as { result?: unknown }).result;
      }
    }
    const latencyMs = end - this.startedAt;
    // A request the caller gave that JSON cannot express (a BigInt, a cycle) fails `protocol`
    // before it is sent: the caller's fault, not the peer's (checked only on this rare path).
    const local =
      failure !== undefined && failure.kind === 'protocol' && !failure.local && !this.serialisable();
    endpoint.recordOutcome(failure, latencyMs, end, call.method, this.startedAt, local);
    const events = pipeline.events;
    if (events.has('attempt-result')) {
      events.emit('attempt-result', {
        at: end,
        callId: call.id,
        method: call.method,
        endpoint: endpoint.url,
        attempt: this.number,
        outcome: failure === undefined ? 'success' : failure.kind,
        latencyMs,
        ...(failure && { error: failure }),
      });
    }
    if ((this.flags & REPORTED_FLAG) !== 0) return;
    this.flags |= REPORTED_FLAG;
    if (failure === undefined) call.attemptSucceeded(this, result, end);
    else call.attemptFailed(this, failure, end);
  }

  /** The method called (`rpc.batch` for a batch). */
  get method(): string {
    return this.call.method;
  }

  /** Whether the call still waits for this attempt (it has not reported, nor been given up on). */
  get live(): boolean {
    return (this.flags & REPORTED_FLAG) === 0;
  }

  /** The attempt's number in its call (1 for the first). */
  get number(): number {
    return Math.floor(this.flags / NUMBER_UNIT);
  }

  /** Whether the call may still be copied elsewhere on this attempt's behalf (see rescue). */
  get rescuable(): boolean {
    return (this.flags & (RESCUED_FLAG | REPORTED_FLAG)) === 0 && this.call.rescuable;
  }

  /** The request of a `request` or `notification` call (the same object each read gives). */
  private request(): JsonRpcRequest {
    const call = this.call;
    const params = call.params;
    const method = call.method;
    // One literal per shape (never `delete`, which would turn the object into a slow dictionary).
    if (call.shape === 'request') {
      const id = this.requestId;
      return params === undefined ? { jsonrpc: '2.0', method, id } : { jsonrpc: '2.0', method, params, id };
    }
    return params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
  }

  /** Whether the request this attempt sent can be written as JSON at all. */
  private serialisable(): boolean {
    try {
      JSON.stringify(this.call.shape === 'batch' ? this.call.batch : this.request());
      return true;
    } catch {
      return false;
    }
  }

  /** The call gave up on this attempt: the transport is told through the signal. */
  abandon(reason: RpcError, lost: boolean): void {
    if ((this.flags & ABANDONED_FLAG) !== 0) return;
    this.flags |= REPORTED_FLAG | (lost ? LOST_FLAG : 0);
    this.abandonWith(reason);
  }

  /** The per-attempt timeout passed: the call moves on at once, the transport is told to stop. */
  onDeadline(): void {
    if ((this.flags & ABANDONED_FLAG) !== 0) return;
    const error = new TimeoutError(
      `attempt timeout of ${Math.round(this.call.attemptTimeoutMs ?? 0)} ms exceeded`,
      {
        endpoint: this.endpoint.url,
      },
    );
    this.abandonWith(error);
    if ((this.flags & REPORTED_FLAG) !== 0) return;
    this.flags |= REPORTED_FLAG;
    this.call.attemptFailed(this, error, this.startedAt + (this.call.attemptTimeoutMs ?? 0));
  }

  onEndpointUnhealthy(): void {
    if ((this.flags & (RESCUED_FLAG | REPORTED_FLAG)) !== 0) return;
    this.flags |= RESCUED_FLAG;
    this.call.rescue(this);
  }

  onConnectionLost(error: RpcError): void {
    if ((this.flags & ABANDONED_FLAG) !== 0) return;
    this.abandonWith(error);
    if ((this.flags & REPORTED_FLAG) !== 0) return;
    this.flags |= REPORTED_FLAG;
    this.call.attemptFailed(this, error, this.call.pipeline.clock.now());
  }

  onOvertaken(): void {
    // The same rescue: a copy elsewhere, this attempt keeps waiting, the first answer wins.
    this.onEndpointUnhealthy();
  }

  /** Reports an attempt refused before the transport (nothing about the endpoint's health is learnt). */
  private report(failure: RpcError, now: number): void {
    this.flags |= REPORTED_FLAG;
    this.call.attemptFailed(this, failure, now);
  }
}

/** An attempt's own timeout, as an entry of the shared deadline timer. */
class AttemptTimeout implements DeadlineEntry {
  deadlineSlot = -1;
  constructor(
    private readonly attempt: Attempt,
    readonly deadlineAt: number,
  ) {}
  onDeadline(): void {
    this.attempt.onDeadline();
  }
}

/**
 * Checks a response to a request: undefined when it carries a result, else the failure. An error
 * without an id (the server could not read the message) answers the request it came back for.
 */
function readResponse(
  response: JsonRpcResponse | undefined,
  id: number,
  endpoint: string,
): RpcError | undefined {
  if (response === undefined || typeof response !== 'object')
    return new ProtocolError('the transport returned no response for a call', { endpoint });
  if (response.id !== id && !(response.id === null && 'error' in response))
    return new ProtocolError(`the response id ${String(response.id)} does not match the request id ${id}`, {
      endpoint,
    });
  if ('error' in response) return remoteFailure(response.error, endpoint);
  return undefined;
}

/**
 * The results of a batch, in call order, from its responses (matched by id). An error without an
 * id (the server could not read the batch: too large, not JSON) answers every request that has no
 * entry of its own, whether the transport passed it alone or in a list.
 */
function batchResults(
  requests: readonly JsonRpcRequest[],
  responses: readonly JsonRpcResponse[] | JsonRpcResponse | undefined,
  endpoint: string,
): BatchResult[] {
  const byId = new Map<unknown, JsonRpcResponse>();
  let whole: JsonRpcResponse | undefined;
  for (const response of responses === undefined ? [] : Array.isArray(responses) ? responses : [responses]) {
    if (response.id === null && 'error' in response) whole ??= response;
    else byId.set(response.id, response);
  }
  return requests.map((request): BatchResult => {
    if (request.id === undefined) return { ok: true, result: undefined };
    const response = byId.get(request.id) ?? whole;
    if (response === undefined)
      return { ok: false, error: new ProtocolError(`the batch response has no entry for id ${request.id}`) };
    if ('error' in response) return { ok: false, error: remoteFailure(response.error, endpoint) };
    return { ok: true, result: response.result };
  });
}

/** Turns a JSON-RPC error object into the right failure: not-processed codes are `rejected`. */
export function remoteFailure(
  error: { code: number; message: string; data?: unknown },
  endpoint: string,
): RpcFailure {
  const data = error.data;
  const record = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : undefined;
  const retryAfterMs = typeof record?.retryAfterMs === 'number' ? record.retryAfterMs : undefined;
  if (NOT_PROCESSED_CODES.has(error.code)) {
    return new RejectedError(error.message, {
      code: error.code,
      data,
      endpoint,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    });
  }
  if (error.code === ErrorCodes.DeadlineExceeded) {
    return new TimeoutError(error.message, { code: error.code, data, endpoint });
  }
  // The server shut down mid-request: like a connection lost while waiting, it may have been processed.
  if (error.code === ErrorCodes.Aborted) {
    return new ConnectionLostError(error.message, { code: error.code, data, endpoint });
  }
  return new RemoteError(error.message, {
    code: error.code,
    data,
    endpoint,
    retryable: record?.retryable === true,
  });
}

// One instance of each per-call class, kept for good (see `util/shape-keepers.ts`): between calls
// no `Call` or `Attempt` is alive, and a full GC then threw away the optimised code of the whole
// call path (in the policy benchmark, which forces a full GC between its timed runs, most of its
// ~2 µs per call up to 30a5bd6). An attempt timeout too, so that the attempt keeps an
// `AttemptTimeout` as well.
{
  const profile = new CallProfile(
    undefined as never,
    'request',
    '',
    undefined,
    false,
    1,
    1,
    1,
    false,
    undefined,
    undefined,
  );
  const call = new Call(0, 0, profile, undefined);
  keepShapes(call, new Attempt(call, undefined as never, 1, 0), new CallExtras(), new Rejection(undefined));
}
