import { definedOnly } from '../recovery/options.js';
import { type Clock, systemClock } from '../util/clock.js';

export interface OutlierDetectionOptions {
  /** Eject after this many consecutive failures. Default 5. */
  consecutiveFailures: number;
  /** Eject when the failure rate over the window reaches this (0..1). Default 0.5; 1 disables. */
  failureRateThreshold: number;
  /** The rate counts once the window holds this many calls. Default 20. */
  minimumCalls: number;
  /** Calls in the sliding window per endpoint. Default 50. */
  windowSize: number;
  /** First ejection time, multiplied by the number of times ejected, in ms. Default 30 000. */
  baseEjectionMs: number;
  /** Cap on the ejection time, in ms. Default 300 000. */
  maxEjectionMs: number;
  /** Never eject more than this share of the endpoint set (at least one endpoint always stays). Default 0.5. */
  maxEjectionPercent: number;
}

export const OutlierDetectionDefaults: OutlierDetectionOptions = {
  consecutiveFailures: 5,
  failureRateThreshold: 0.5,
  minimumCalls: 20,
  windowSize: 50,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 0.5,
};

interface EndpointState {
  /** Ring of outcomes, 1 = failure. */
  readonly window: Uint8Array;
  next: number;
  count: number;
  failures: number;
  consecutive: number;
  ejected: boolean;
  ejectedUntil: number;
  /** Times ejected, the ejection-time multiplier; decays by one per healthy `baseEjectionMs`. */
  times: number;
  /** When the multiplier last changed or the last ejection ended: the decay clock's origin. */
  decayFrom: number;
}

type Listener = (endpoint: string, ejected: boolean, reason: string) => void;

/**
 * Passive outlier detection over a set of endpoints (Envoy / gRPC A50). It only decides and
 * remembers ejections; the client asks `isEjected` and is told of changes through `onChange`.
 *
 * - An endpoint is ejected after `consecutiveFailures` failures in a row, or when its failure rate
 *   over its last `windowSize` calls (at least `minimumCalls` of them) reaches `failureRateThreshold`.
 * - The ejection lasts `baseEjectionMs × times ejected`, capped at max(baseEjectionMs, maxEjectionMs).
 * - Ejecting never takes the ejected share above `maxEjectionPercent` (except that, as in Envoy,
 *   one endpoint of two or more may always be ejected; 0 disables ejection), and never ejects
 *   the last endpoint; a blocked ejection is retried on the endpoint's next failure.
 * - Ejections end lazily, when `isEjected` (or `record`, `ejectionCount`, `ejectedCount`) looks at
 *   the endpoint after its time: `onChange(endpoint, false, 'ejection expired')` fires then, and
 *   the endpoint returns with a clean window and consecutive count.
 * - Like Envoy, the times-ejected multiplier decreases by one for each `baseEjectionMs` the
 *   endpoint spends un-ejected.
 * - Outcomes recorded while ejected (panic-mode calls) are ignored.
 */
export class OutlierDetector {
  private readonly options: OutlierDetectionOptions;
  private readonly endpoints = new Map<string, EndpointState>();
  private listeners: Listener[] = [];

  constructor(
    options: Partial<OutlierDetectionOptions> = {},
    private readonly clock: Clock = systemClock,
  ) {
    const merged = { ...OutlierDetectionDefaults, ...definedOnly(options) };
    merged.windowSize = Math.max(1, Math.floor(merged.windowSize));
    merged.minimumCalls = Math.max(1, Math.min(merged.windowSize, Math.floor(merged.minimumCalls)));
    merged.consecutiveFailures = Math.max(1, Math.floor(merged.consecutiveFailures));
    merged.baseEjectionMs = Math.max(0, merged.baseEjectionMs);
    merged.maxEjectionMs = Math.max(merged.baseEjectionMs, merged.maxEjectionMs);
    this.options = merged;
  }

  /** Adds an endpoint to the set (idempotent). */
  add(endpoint: string): void {
    if (this.endpoints.has(endpoint)) return;
    this.endpoints.set(endpoint, {
      window: new Uint8Array(this.options.windowSize),
      next: 0,
      count: 0,
      failures: 0,
      consecutive: 0,
      ejected: false,
      ejectedUntil: 0,
      times: 0,
      decayFrom: this.clock.now(),
    });
  }

  /** Removes an endpoint and its history. */
  remove(endpoint: string): void {
    this.endpoints.delete(endpoint);
  }

  /**
   * Records an outcome that says something about the endpoint's health. Unknown endpoints are
   * added. `nowMs` is the clock time when the caller already read it (saves a clock read).
   */
  record(endpoint: string, success: boolean, nowMs?: number): void {
    let state = this.endpoints.get(endpoint);
    if (!state) {
      this.add(endpoint);
      state = this.endpoints.get(endpoint) as EndpointState;
    }
    const now = nowMs ?? this.clock.now();
    this.refresh(endpoint, state, now);
    if (state.ejected) return;

    const size = state.window.length;
    if (state.count === size) state.failures -= state.window[state.next] ?? 0;
    else state.count++;
    state.window[state.next] = success ? 0 : 1;
    if (++state.next === size) state.next = 0;
    if (success) {
      state.consecutive = 0;
      return;
    }
    state.failures++;
    state.consecutive++;

    const { consecutiveFailures, minimumCalls, failureRateThreshold } = this.options;
    let reason: string | undefined;
    if (state.consecutive >= consecutiveFailures) {
      reason = `${state.consecutive} consecutive failures`;
    } else if (
      failureRateThreshold < 1 &&
      state.count >= minimumCalls &&
      state.failures / state.count >= failureRateThreshold
    ) {
      reason = `failure rate ${Math.round((state.failures / state.count) * 100)} % over ${state.count} calls`;
    }
    if (reason !== undefined && this.mayEject(now)) this.eject(endpoint, state, now, reason);
  }

  /** Whether the endpoint is ejected now (ejections end by themselves when their time is up). */
  isEjected(endpoint: string): boolean {
    const state = this.endpoints.get(endpoint);
    if (!state) return false;
    if (state.ejected) this.refresh(endpoint, state, this.clock.now());
    return state.ejected;
  }

  /** How many times the endpoint has been ejected (decays back after a healthy period). */
  ejectionCount(endpoint: string): number {
    const state = this.endpoints.get(endpoint);
    if (!state) return 0;
    this.refresh(endpoint, state, this.clock.now());
    return state.times;
  }

  /** When the endpoint's current ejection ends (clock time), or undefined when it is not ejected. */
  ejectedUntil(endpoint: string): number | undefined {
    return this.isEjected(endpoint) ? this.endpoints.get(endpoint)?.ejectedUntil : undefined;
  }

  /** Endpoints ejected now (expiring the ones whose time is up). */
  get ejectedCount(): number {
    return this.countEjected(this.clock.now());
  }

  /** Endpoints in the set. */
  get size(): number {
    return this.endpoints.size;
  }

  /** Subscribes to ejection/return events; returns the unsubscribe function. */
  onChange(listener: (endpoint: string, ejected: boolean, reason: string) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Ends an ejection whose time is up, and decays the multiplier. */
  private refresh(endpoint: string, state: EndpointState, now: number): void {
    if (state.ejected) {
      if (now < state.ejectedUntil) return;
      state.ejected = false;
      state.decayFrom = state.ejectedUntil;
      state.window.fill(0);
      state.next = 0;
      state.count = 0;
      state.failures = 0;
      state.consecutive = 0;
      this.emit(endpoint, false, 'ejection expired');
    }
    const base = this.options.baseEjectionMs;
    if (state.times > 0 && base > 0 && now - state.decayFrom >= base) {
      const steps = Math.floor((now - state.decayFrom) / base);
      const applied = Math.min(steps, state.times);
      state.times -= applied;
      state.decayFrom = state.times === 0 ? now : state.decayFrom + applied * base;
    }
  }

  private mayEject(now: number): boolean {
    const total = this.endpoints.size;
    const ejected = this.countEjected(now);
    const share = this.options.maxEjectionPercent;
    if (!(share > 0) || ejected + 1 >= total) return false; // disabled, or it would eject them all
    // Like Envoy, one ejection is allowed whatever the share (2+ endpoints); more stay within it.
    return ejected === 0 || ejected + 1 <= share * total + 1e-9;
  }

  private countEjected(now: number): number {
    let ejected = 0;
    for (const [endpoint, state] of this.endpoints) {
      if (state.ejected) this.refresh(endpoint, state, now);
      if (state.ejected) ejected++;
    }
    return ejected;
  }

  private eject(endpoint: string, state: EndpointState, now: number, reason: string): void {
    state.times++;
    const duration = Math.min(this.options.baseEjectionMs * state.times, this.options.maxEjectionMs);
    state.ejected = true;
    state.ejectedUntil = now + duration;
    state.decayFrom = now;
    this.emit(endpoint, true, `${reason}; ejected for ${duration} ms (ejection ${state.times})`);
  }

  private emit(endpoint: string, ejected: boolean, reason: string): void {
    for (const listener of this.listeners) {
      try {
        listener(endpoint, ejected, reason);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
