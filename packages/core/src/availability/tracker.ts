/**
 * The availability tracker: turns what a client observed (its `call`, `attempt-result` and
 * `endpoint-state` events, or the same facts fed by hand) into measured availability with a
 * confidence interval, the models' inputs (α, coverage β, retries, MTBF, MTTR, time to detect)
 * and the models' predictions from those inputs, side by side. Every event costs O(1).
 */
import type { FailureKind } from '../errors/rpc-error.js';
import type { ClientEvents, EndpointState } from '../events/types.js';
import { type Clock, systemClock } from '../util/clock.js';
import {
  commonModeAvailability,
  failoverAvailability,
  haAvailability,
  kOfNAvailability,
  retryAvailability,
  spoAvailability,
  steadyStateAvailability,
} from './models.js';
import { type Interval, inInterval, wilsonInterval, Z_95 } from './statistics.js';
import { AvailabilityInputError, count, positive, positiveCount, probability } from './validate.js';

/** An attempt's or call's outcome: `success` or the failure kind. */
export type Outcome = 'success' | FailureKind;

/**
 * How an outcome counts for availability: `up` (the service answered), `down` (it did not), or
 * `ignore` (not a statement about the service, e.g. the caller cancelled).
 */
export type OutcomeClass = 'up' | 'down' | 'ignore';

/** Decides how an outcome counts; see {@link classifyOutcome} for the default. */
export type OutcomeClassifier = (outcome: Outcome, error?: { readonly retryable?: boolean }) => OutcomeClass;

/**
 * The default classification. `success` is up. `cancelled` is ignored (the caller gave up; a
 * hedge's losing copy is cancelled too). A `remote` error is up — the service answered, with an
 * application error — unless the server marked it retryable (overloaded, unavailable), which is
 * down. Every other kind (`not-sent`, `rejected`, `timeout`, `connection-lost`, `protocol`) is down.
 */
export const classifyOutcome: OutcomeClassifier = (outcome, error) => {
  if (outcome === 'success') return 'up';
  if (outcome === 'cancelled') return 'ignore';
  if (outcome === 'remote') return error?.retryable === true ? 'down' : 'up';
  return 'down';
};

/** Anything with the client's typed `on` (a client, or its event emitter). */
export interface AvailabilityEventSource {
  on<K extends keyof ClientEvents>(name: K, listener: (event: ClientEvents[K]) => void): () => void;
}

/** Options of {@link AvailabilityTracker}. */
export interface AvailabilityTrackerOptions {
  /** The clock; use the client's clock, since events carry its times. Default {@link systemClock}. */
  clock?: Clock;
  /** z of the reported intervals. Default {@link Z_95} (95 %). */
  z?: number;
  /** How outcomes count for availability. Default {@link classifyOutcome}. */
  classify?: OutcomeClassifier;
  /** In-flight calls remembered to learn each call's first-attempt outcome. Default 10 000. */
  maxPendingCalls?: number;
}

/** What {@link AvailabilityTracker.report} may be told about the deployment; the rest is measured. */
export interface AvailabilityReportOptions {
  /** m, the number of replicas. Default: endpoints currently known (at least 1). */
  replicas?: number;
  /** n, the configured maximum number of retries. Default: the most retries a call was seen to take. */
  retries?: number;
  /** β, coverage. Default: measured (the share of failed first attempts that were retried), else 1. */
  beta?: number;
  /** k, replicas that must be up for the k-of-n prediction; without it there is none. */
  quorum?: number;
  /** β_c, the common-mode factor for the common-mode prediction; without it there is none. */
  commonModeFactor?: number;
  /** z of the intervals. Default: the tracker's. */
  z?: number;
}

/** A success ratio with its interval. */
export interface MeasuredRatio {
  /** Successes / total, or null with no data. */
  availability: number | null;
  /** The Wilson interval of the availability ([0, 1] with no data). */
  interval: Interval;
}

/** One injected fault and when its endpoint was seen to leave healthy. */
export interface DetectionRecord {
  fault: string;
  endpoint: string;
  faultAt: number;
  /** When the endpoint left `healthy` after the fault, or null if it has not yet. */
  detectedAt: number | null;
  /** detectedAt − faultAt, or null if not detected yet. */
  detectedAfterMs: number | null;
  /** The state it left healthy for (`suspect`, `down`, …), or null. */
  detectedAs: EndpointState | null;
}

/** What the tracker measured on one endpoint. */
export interface EndpointReport extends MeasuredRatio {
  state: EndpointState;
  removed: boolean;
  attempts: number;
  succeeded: number;
  failed: number;
  ignored: number;
  /** Times it left healthy. */
  failures: number;
  /** Times it came back to healthy. */
  repairs: number;
  /** Time spent healthy / not healthy, ms, up to now (or its removal). */
  upMs: number;
  downMs: number;
  /** upMs / (upMs + downMs), or null. */
  timeAvailability: number | null;
  /** Total healthy time / failures (the exponential MLE, censoring-aware), or null without failures. */
  mtbfMs: number | null;
  /** Total unhealthy time / repairs, or null without repairs. Excludes detection time. */
  mttrMs: number | null;
}

/** A model's prediction from measured (or given) inputs, beside the measurement. */
export interface Prediction<I> {
  inputs: I;
  value: number;
  /** Which measurement it is compared with: call availability, or per-attempt availability. */
  comparedWith: 'calls' | 'attempts';
  /** Whether `value` lies in that measurement's interval. */
  withinInterval: boolean;
}

/** The predictions a report can carry; each is present only when its inputs are known. */
export interface Predictions {
  spo?: Prediction<{ alpha: number; beta: number; n: number }>;
  retry?: Prediction<{ alpha: number; beta: number; n: number }>;
  failover?: Prediction<{ alpha: number; beta: number; n: number; m: number }>;
  ha?: Prediction<{ a1: number; m: number }>;
  kOfN?: Prediction<{ a: number; k: number; n: number }>;
  commonMode?: Prediction<{ a1: number; m: number; commonModeFactor: number }>;
  steadyState?: Prediction<{ mtbfMs: number; detectMs: number; repairMs: number }>;
  steadyStateHa?: Prediction<{ a1: number; m: number }>;
}

/** A plain, JSON-serialisable report. */
export interface AvailabilityReport {
  at: number;
  windowMs: number;
  z: number;
  /** Call availability. */
  measured: MeasuredRatio & {
    calls: number;
    succeeded: number;
    failed: number;
    ignored: number;
    byOutcome: Record<string, number>;
  };
  /** Attempt availability over all endpoints. */
  attempts: MeasuredRatio & { attempts: number; succeeded: number; failed: number; ignored: number };
  /** α: the observed probability that an attempt fails, with its interval. */
  alpha: { value: number | null; interval: Interval; attempts: number; failed: number };
  /** β: of the calls whose first attempt failed, the share that were retried. */
  coverage: { value: number | null; firstAttemptFailures: number; retried: number };
  /** Retries per call (attempts − 1; hedges count as attempts). */
  retries: { total: number; perCall: number | null; max: number };
  perEndpoint: Record<string, EndpointReport>;
  /** Pooled over endpoints. */
  mtbfMs: number | null;
  mttrMs: number | null;
  detections: DetectionRecord[];
  detection: { faults: number; detected: number; meanMs: number | null; maxMs: number | null };
  predicted: Predictions;
}

interface EndpointRecord {
  state: EndpointState;
  up: boolean;
  /** Start of the current up or down phase. */
  since: number;
  upMs: number;
  downMs: number;
  failures: number;
  repairs: number;
  attempts: number;
  succeeded: number;
  failed: number;
  ignored: number;
  removed: boolean;
  /** Recent departures from healthy, oldest first (at most {@link DEPARTURE_HISTORY}). */
  departures: { at: number; to: EndpointState }[];
  /** Whether older departures were dropped from `departures`. */
  departuresTruncated: boolean;
  pendingFaults: DetectionRecord[];
}

/** Departures from healthy remembered per endpoint, so faults can be marked after the fact. */
const DEPARTURE_HISTORY = 64;

interface PendingCall {
  minAttempt: number;
  firstDown: boolean;
}

const UP_STATE: EndpointState = 'healthy';

/**
 * Measures availability as the client saw it and sets the models' predictions beside it.
 *
 * Feed it with {@link attach} (a client or its emitter), {@link observe} (raw events, e.g. a
 * replay), or by hand ({@link recordCall}, {@link recordAttempt}, {@link recordEndpointState}).
 * Tell it about injected faults with {@link markFault} to measure time to detect. Give it the
 * client's clock: event times and `now` must be on one scale.
 */
export class AvailabilityTracker {
  private readonly clock: Clock;
  private readonly z: number;
  private readonly classify: OutcomeClassifier;
  private readonly maxPendingCalls: number;
  private startedAt: number;

  private calls = 0;
  private callsUp = 0;
  private callsIgnored = 0;
  private byOutcome = new Map<string, number>();
  private attemptsTotal = 0;
  private attemptsUp = 0;
  private attemptsDown = 0;
  private attemptsIgnored = 0;
  private firstFailures = 0;
  private firstFailuresRetried = 0;
  private retriesTotal = 0;
  private retriesMax = 0;
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly pendingCalls = new Map<number, PendingCall>();
  private detections: DetectionRecord[] = [];
  private faultSeq = 0;

  constructor(options: AvailabilityTrackerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.z = positive('AvailabilityTracker', 'z', options.z ?? Z_95);
    this.classify = options.classify ?? classifyOutcome;
    this.maxPendingCalls = positiveCount(
      'AvailabilityTracker',
      'maxPendingCalls',
      options.maxPendingCalls ?? 10_000,
    );
    this.startedAt = this.clock.now();
  }

  /**
   * Subscribes to a client's `call`, `attempt-result`, `endpoint-state`, `endpoint-added` and
   * `endpoint-removed` events. Returns the function that unsubscribes (safe to call twice).
   */
  attach(source: AvailabilityEventSource): () => void {
    const offs = [
      source.on('call', (event) => this.observe('call', event)),
      source.on('attempt-result', (event) => this.observe('attempt-result', event)),
      source.on('endpoint-state', (event) => this.observe('endpoint-state', event)),
      source.on('endpoint-added', (event) => this.observe('endpoint-added', event)),
      source.on('endpoint-removed', (event) => this.observe('endpoint-removed', event)),
    ];
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      for (const off of offs) off();
    };
  }

  /** Feeds one client event (events the tracker does not use are ignored). */
  observe<K extends keyof ClientEvents>(name: K, event: ClientEvents[K]): void {
    switch (name) {
      case 'call':
        this.onCall(event as ClientEvents['call']);
        break;
      case 'attempt-result':
        this.onAttemptResult(event as ClientEvents['attempt-result']);
        break;
      case 'endpoint-state': {
        const e = event as ClientEvents['endpoint-state'];
        this.onState(e.endpoint, e.from, e.to, e.at);
        break;
      }
      case 'endpoint-added': {
        const e = event as ClientEvents['endpoint-added'];
        this.addEndpoint(e.endpoint, e.at);
        break;
      }
      case 'endpoint-removed': {
        const e = event as ClientEvents['endpoint-removed'];
        this.removeEndpoint(e.endpoint, e.at);
        break;
      }
      default:
        break;
    }
  }

  /**
   * Records a finished call by hand. `attempts` defaults to 1; `outcome` defaults to `success`
   * when `ok`, else `not-sent`. Without per-attempt data, the first attempt is taken to have
   * failed when the call took several attempts or failed.
   */
  recordCall(call: { ok: boolean; attempts?: number; outcome?: Outcome; retryable?: boolean }): void {
    const attempts = positiveCount('recordCall', 'attempts', call.attempts ?? 1);
    const outcome = call.outcome ?? (call.ok ? 'success' : 'not-sent');
    const cls = call.ok ? 'up' : this.classify(outcome, { retryable: call.retryable === true });
    this.countCall(cls, outcome, attempts, attempts > 1 || cls === 'down');
  }

  /** Records a finished attempt by hand: `outcome` defaults to `success` when `ok`, else `not-sent`. */
  recordAttempt(attempt: {
    endpoint: string;
    ok?: boolean;
    outcome?: Outcome;
    retryable?: boolean;
    at?: number;
  }): void {
    const outcome = attempt.outcome ?? (attempt.ok === false ? 'not-sent' : 'success');
    const cls = this.classify(outcome, { retryable: attempt.retryable === true });
    this.countAttempt(attempt.endpoint, cls, attempt.at ?? this.clock.now());
  }

  /** Records an endpoint's state change by hand (`at` defaults to now). */
  recordEndpointState(change: {
    endpoint: string;
    to: EndpointState;
    from?: EndpointState;
    at?: number;
  }): void {
    const at = change.at ?? this.clock.now();
    const from = change.from ?? this.endpoints.get(change.endpoint)?.state ?? UP_STATE;
    this.onState(change.endpoint, from, change.to, at);
  }

  /** An endpoint joined the set (healthy from `at`). A removed endpoint that returns resumes its record. */
  addEndpoint(endpoint: string, at: number = this.clock.now()): void {
    const rec = this.endpoints.get(endpoint);
    if (rec === undefined) {
      this.endpoints.set(endpoint, newRecord(UP_STATE, at));
    } else if (rec.removed) {
      rec.removed = false;
      rec.state = UP_STATE;
      rec.up = true;
      rec.since = at;
    }
  }

  /** An endpoint left the set: its time stops counting (its figures stay in reports). */
  removeEndpoint(endpoint: string, at: number = this.clock.now()): void {
    const rec = this.endpoints.get(endpoint);
    if (rec === undefined || rec.removed) return;
    closePhase(rec, at);
    rec.removed = true;
  }

  /**
   * Tells the tracker a fault was injected on `endpoint` at `atMs` (default now). The next time
   * the endpoint leaves `healthy` at or after `atMs` is its detection. A fault may be marked
   * after the fact: if the endpoint has already left healthy since `atMs`, the first such
   * departure counts (the last 64 departures per endpoint are remembered for this).
   * Returns the detection record, which is filled in place when the detection comes.
   */
  markFault(endpoint: string, atMs: number = this.clock.now(), label?: string): DetectionRecord {
    if (typeof atMs !== 'number' || !Number.isFinite(atMs)) {
      throw new AvailabilityInputError('markFault', 'atMs', 'a finite time in ms', atMs);
    }
    this.faultSeq++;
    const record: DetectionRecord = {
      fault: label ?? `fault-${this.faultSeq}`,
      endpoint,
      faultAt: atMs,
      detectedAt: null,
      detectedAfterMs: null,
      detectedAs: null,
    };
    this.detections.push(record);
    const rec = this.endpoint(endpoint, UP_STATE, atMs);
    const departures = rec.departures;
    const last = departures[departures.length - 1];
    if (last === undefined || last.at < atMs) {
      rec.pendingFaults.push(record); // the detection is still to come
    } else {
      // Marked after the fact: the first departure at or after atMs (times are in order).
      let lo = 0;
      let hi = departures.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (departures[mid]!.at >= atMs) hi = mid;
        else lo = mid + 1;
      }
      const first = departures[lo]!;
      // If older departures were forgotten and this is the oldest kept, the true one may be lost.
      if (!(rec.departuresTruncated && lo === 0)) detect(record, first.at, first.to);
    }
    return record;
  }

  /** Forgets every measurement (endpoints stay known, in their current state, from now). */
  reset(): void {
    const now = this.clock.now();
    this.startedAt = now;
    this.calls = this.callsUp = this.callsIgnored = 0;
    this.byOutcome = new Map();
    this.attemptsTotal = this.attemptsUp = this.attemptsDown = this.attemptsIgnored = 0;
    this.firstFailures = this.firstFailuresRetried = 0;
    this.retriesTotal = this.retriesMax = 0;
    this.pendingCalls.clear();
    this.detections = [];
    for (const [name, rec] of this.endpoints) {
      if (rec.removed) {
        this.endpoints.delete(name);
        continue;
      }
      const fresh = newRecord(rec.state, now);
      this.endpoints.set(name, fresh);
    }
  }

  /** Measured availability, the models' inputs and their predictions; a plain JSON-safe object. */
  report(options: AvailabilityReportOptions = {}): AvailabilityReport {
    const fn = 'AvailabilityTracker.report';
    const now = this.clock.now();
    const z = options.z === undefined ? this.z : positive(fn, 'z', options.z);

    const callInterval = wilsonInterval(this.callsUp, this.calls, z);
    const attemptsCounted = this.attemptsUp + this.attemptsDown;
    const attemptInterval = wilsonInterval(this.attemptsUp, attemptsCounted, z);
    const alpha = attemptsCounted === 0 ? null : this.attemptsDown / attemptsCounted;

    const perEndpoint: [string, EndpointReport][] = [];
    let upMs = 0;
    let downMs = 0;
    let failures = 0;
    let repairs = 0;
    let active = 0;
    for (const [name, rec] of this.endpoints) {
      const report = endpointReport(rec, now, z);
      perEndpoint.push([name, report]);
      upMs += report.upMs;
      downMs += report.downMs;
      failures += report.failures;
      repairs += report.repairs;
      if (!rec.removed) active++;
    }
    const mtbfMs = failures > 0 ? upMs / failures : null;
    const mttrMs = repairs > 0 ? downMs / repairs : null;

    let detected = 0;
    let detectSum = 0;
    let detectMax: number | null = null;
    for (const d of this.detections) {
      if (d.detectedAfterMs === null) continue;
      detected++;
      detectSum += d.detectedAfterMs;
      detectMax = detectMax === null ? d.detectedAfterMs : Math.max(detectMax, d.detectedAfterMs);
    }
    const detectMean = detected > 0 ? detectSum / detected : null;

    const coverage = this.firstFailures > 0 ? this.firstFailuresRetried / this.firstFailures : null;
    const beta = options.beta === undefined ? (coverage ?? 1) : probability(fn, 'beta', options.beta);
    const n = options.retries === undefined ? this.retriesMax : count(fn, 'retries', options.retries);
    const m =
      options.replicas === undefined ? Math.max(1, active) : positiveCount(fn, 'replicas', options.replicas);

    const vsCalls = (value: number) => ({
      value,
      comparedWith: 'calls' as const,
      withinInterval: inInterval(value, callInterval),
    });
    const predicted: Predictions = {};
    if (alpha !== null) {
      const a1 = 1 - alpha;
      predicted.spo = { inputs: { alpha, beta, n }, ...vsCalls(spoAvailability({ alpha, beta, n })) };
      predicted.retry = { inputs: { alpha, beta, n }, ...vsCalls(retryAvailability({ alpha, beta, n })) };
      predicted.failover = {
        inputs: { alpha, beta, n, m },
        ...vsCalls(failoverAvailability({ alpha, beta, n, m })),
      };
      predicted.ha = { inputs: { a1, m }, ...vsCalls(haAvailability({ a1, m })) };
      if (options.quorum !== undefined) {
        const k = count(fn, 'quorum', options.quorum);
        if (k > m)
          throw new AvailabilityInputError(fn, 'quorum', `an integer in [0, replicas] (replicas = ${m})`, k);
        predicted.kOfN = { inputs: { a: a1, k, n: m }, ...vsCalls(kOfNAvailability({ a: a1, k, n: m })) };
      }
      if (options.commonModeFactor !== undefined) {
        const commonModeFactor = probability(fn, 'commonModeFactor', options.commonModeFactor);
        predicted.commonMode = {
          inputs: { a1, m, commonModeFactor },
          ...vsCalls(commonModeAvailability({ a1, m, commonModeFactor })),
        };
      }
    }
    if (mtbfMs !== null && mttrMs !== null) {
      // Healthy time includes each fault's undetected stretch: move it from up to repair time.
      const detectMs = detectMean ?? 0;
      const inputs = { mtbfMs: Math.max(0, mtbfMs - detectMs), detectMs, repairMs: mttrMs };
      if (inputs.mtbfMs + detectMs + mttrMs > 0) {
        const value = steadyStateAvailability(inputs);
        predicted.steadyState = {
          inputs,
          value,
          comparedWith: 'attempts',
          withinInterval: inInterval(value, attemptInterval),
        };
        predicted.steadyStateHa = { inputs: { a1: value, m }, ...vsCalls(haAvailability({ a1: value, m })) };
      }
    }

    return {
      at: now,
      windowMs: Math.max(0, now - this.startedAt),
      z,
      measured: {
        calls: this.calls,
        succeeded: this.callsUp,
        failed: this.calls - this.callsUp,
        ignored: this.callsIgnored,
        availability: this.calls === 0 ? null : this.callsUp / this.calls,
        interval: callInterval,
        byOutcome: Object.fromEntries(this.byOutcome),
      },
      attempts: {
        attempts: this.attemptsTotal,
        succeeded: this.attemptsUp,
        failed: this.attemptsDown,
        ignored: this.attemptsIgnored,
        availability: attemptsCounted === 0 ? null : this.attemptsUp / attemptsCounted,
        interval: attemptInterval,
      },
      alpha: {
        value: alpha,
        interval: [1 - attemptInterval[1], 1 - attemptInterval[0]],
        attempts: attemptsCounted,
        failed: this.attemptsDown,
      },
      coverage: {
        value: coverage,
        firstAttemptFailures: this.firstFailures,
        retried: this.firstFailuresRetried,
      },
      retries: {
        total: this.retriesTotal,
        perCall: this.calls === 0 ? null : this.retriesTotal / this.calls,
        max: this.retriesMax,
      },
      perEndpoint: Object.fromEntries(perEndpoint),
      mtbfMs,
      mttrMs,
      detections: this.detections.map((d) => ({ ...d })),
      detection: { faults: this.detections.length, detected, meanMs: detectMean, maxMs: detectMax },
      predicted,
    };
  }

  // -------------------------------------------------------------------------------------------

  private onCall(event: ClientEvents['call']): void {
    const outcome: Outcome = event.ok ? 'success' : (event.error?.kind ?? 'not-sent');
    const cls = event.ok ? 'up' : this.classify(outcome, event.error);
    const pending = this.pendingCalls.get(event.callId);
    this.pendingCalls.delete(event.callId);
    const attempts = Math.max(1, Math.floor(event.attempts));
    const firstDown = pending === undefined ? attempts > 1 || cls === 'down' : pending.firstDown;
    this.countCall(cls, outcome, attempts, firstDown);
  }

  private countCall(cls: OutcomeClass, outcome: Outcome, attempts: number, firstDown: boolean): void {
    this.byOutcome.set(outcome, (this.byOutcome.get(outcome) ?? 0) + 1);
    if (cls === 'ignore') {
      this.callsIgnored++;
      return;
    }
    this.calls++;
    if (cls === 'up') this.callsUp++;
    const retries = attempts - 1;
    this.retriesTotal += retries;
    if (retries > this.retriesMax) this.retriesMax = retries;
    if (firstDown) {
      this.firstFailures++;
      if (attempts > 1) this.firstFailuresRetried++;
    }
  }

  private onAttemptResult(event: ClientEvents['attempt-result']): void {
    const cls = this.classify(event.outcome, event.error);
    this.countAttempt(event.endpoint, cls, event.at);
    const pending = this.pendingCalls.get(event.callId);
    if (pending === undefined) {
      this.pendingCalls.set(event.callId, { minAttempt: event.attempt, firstDown: cls === 'down' });
      if (this.pendingCalls.size > this.maxPendingCalls) {
        // Calls whose `call` event never came: forget the oldest.
        const oldest = this.pendingCalls.keys().next();
        if (oldest.done !== true) this.pendingCalls.delete(oldest.value);
      }
    } else if (event.attempt < pending.minAttempt) {
      pending.minAttempt = event.attempt;
      pending.firstDown = cls === 'down';
    }
  }

  private countAttempt(endpoint: string, cls: OutcomeClass, at: number): void {
    const rec = this.endpoint(endpoint, UP_STATE, at);
    this.attemptsTotal++;
    rec.attempts++;
    if (cls === 'up') {
      this.attemptsUp++;
      rec.succeeded++;
    } else if (cls === 'down') {
      this.attemptsDown++;
      rec.failed++;
    } else {
      this.attemptsIgnored++;
      rec.ignored++;
    }
  }

  private onState(endpoint: string, from: EndpointState, to: EndpointState, at: number): void {
    const rec = this.endpoint(endpoint, from, at);
    const up = to === UP_STATE;
    if (rec.removed) {
      rec.state = to;
      rec.up = up;
      return;
    }
    if (rec.up && !up) {
      rec.upMs += Math.max(0, at - rec.since);
      rec.since = at;
      rec.failures++;
      rec.departures.push({ at, to });
      if (rec.departures.length > DEPARTURE_HISTORY) {
        rec.departures.shift();
        rec.departuresTruncated = true;
      }
      if (rec.pendingFaults.length > 0) {
        const still: DetectionRecord[] = [];
        for (const fault of rec.pendingFaults) {
          if (fault.faultAt <= at) detect(fault, at, to);
          else still.push(fault);
        }
        rec.pendingFaults = still;
      }
    } else if (!rec.up && up) {
      rec.downMs += Math.max(0, at - rec.since);
      rec.since = at;
      rec.repairs++;
    }
    rec.state = to;
    rec.up = up;
  }

  /** The endpoint's record; a new one is taken to have been in `state` since the tracker started. */
  private endpoint(endpoint: string, state: EndpointState, at: number): EndpointRecord {
    let rec = this.endpoints.get(endpoint);
    if (rec === undefined) {
      rec = newRecord(state, Math.min(this.startedAt, at));
      this.endpoints.set(endpoint, rec);
    }
    return rec;
  }
}

function newRecord(state: EndpointState, since: number): EndpointRecord {
  return {
    state,
    up: state === UP_STATE,
    since,
    upMs: 0,
    downMs: 0,
    failures: 0,
    repairs: 0,
    attempts: 0,
    succeeded: 0,
    failed: 0,
    ignored: 0,
    removed: false,
    departures: [],
    departuresTruncated: false,
    pendingFaults: [],
  };
}

function closePhase(rec: EndpointRecord, at: number): void {
  const elapsed = Math.max(0, at - rec.since);
  if (rec.up) rec.upMs += elapsed;
  else rec.downMs += elapsed;
  rec.since = at;
}

function detect(record: DetectionRecord, at: number, as: EndpointState): void {
  record.detectedAt = at;
  record.detectedAfterMs = at - record.faultAt;
  record.detectedAs = as;
}

function endpointReport(rec: EndpointRecord, now: number, z: number): EndpointReport {
  const open = rec.removed ? 0 : Math.max(0, now - rec.since);
  const upMs = rec.upMs + (rec.up ? open : 0);
  const downMs = rec.downMs + (rec.up ? 0 : open);
  const counted = rec.succeeded + rec.failed;
  return {
    state: rec.state,
    removed: rec.removed,
    attempts: rec.attempts,
    succeeded: rec.succeeded,
    failed: rec.failed,
    ignored: rec.ignored,
    availability: counted === 0 ? null : rec.succeeded / counted,
    interval: wilsonInterval(rec.succeeded, counted, z),
    failures: rec.failures,
    repairs: rec.repairs,
    upMs,
    downMs,
    timeAvailability: upMs + downMs > 0 ? upMs / (upMs + downMs) : null,
    mtbfMs: rec.failures > 0 ? upMs / rec.failures : null,
    mttrMs: rec.repairs > 0 ? downMs / rec.repairs : null,
  };
}
