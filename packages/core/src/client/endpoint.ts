import { HeartbeatMonitor, type HeartbeatOptions } from '../detection/heartbeat.js';
import { LatencyTracker } from '../detection/latency-tracker.js';
import type { FailureKind } from '../errors/rpc-error.js';
import type { EndpointState } from '../events/types.js';
import type { BalancerCandidate } from '../recovery/balancer.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../recovery/circuit-breaker.js';
import type { ClientConnection } from '../transport.js';
import type { Clock } from '../util/clock.js';
import type { EndpointStats, StallDetectionOptions } from './types.js';

/** What drives an endpoint's state; the state is derived from these, never stored apart from them. */
interface HealthSignals {
  /** The transport reports the connection closed or reconnecting. */
  connectionDown: boolean;
  /** The heartbeat monitor's verdict (missed pings or phi over threshold). */
  heartbeatSuspect: boolean;
  /** Calls stopped completing: the oldest in-flight call is too old and nothing came back since. */
  stalled: boolean;
  /** Passive outlier detection ejected it. */
  ejected: boolean;
  /** It refused a connection (nothing listens); kept until its local backoff ends. */
  refused: boolean;
  /** It was unhealthy and has not answered anything since it looked better. */
  recovering: boolean;
}

const NO_REASON = '';

/**
 * The client's view of one endpoint: its connection, in-flight calls, latency, breaker,
 * heartbeat, and the health state machine healthy → suspect → down/ejected → probing → healthy.
 */
export class Endpoint implements BalancerCandidate {
  readonly url: string;
  readonly connection: ClientConnection;
  readonly latency = new LatencyTracker();
  readonly breaker: CircuitBreaker | undefined;
  readonly failures: Partial<Record<FailureKind, number>> = {};
  successes = 0;
  /** Consecutive `not-sent` failures (refused connections), for the local backoff. */
  consecutiveNotSent = 0;
  inFlight = 0;
  removed = false;
  /** Client time of the last thing that came back from this endpoint (response, pong, activity). */
  lastHeardAt: number;
  /** Not used for new calls before this client time (a Retry-After hint). */
  backoffUntil = 0;
  state: EndpointState = 'healthy';
  private readonly signals: HealthSignals = {
    connectionDown: false,
    heartbeatSuspect: false,
    stalled: false,
    ejected: false,
    refused: false,
    recovering: false,
  };
  /** Rescue callbacks of in-flight attempts by token (see `begin`). */
  private readonly rescuers = new Map<number, () => void>();
  /** Start times of in-flight calls by attempt token; insertion order makes the first the oldest. */
  private readonly started = new Map<number, number>();
  /** Start of the oldest abandoned attempt with nothing heard since (see `end`). */
  private unansweredSince: number | undefined;
  private heartbeat: HeartbeatMonitor | undefined;
  private unsubscribe: () => void;
  private reason = NO_REASON;

  constructor(
    url: string,
    connection: ClientConnection,
    private readonly clock: Clock,
    private readonly onState: (
      endpoint: Endpoint,
      from: EndpointState,
      to: EndpointState,
      reason: string,
    ) => void,
    breakerOptions: Partial<CircuitBreakerOptions> | false,
    onBreaker: (endpoint: Endpoint, to: CircuitBreaker['state'], from: CircuitBreaker['state']) => void,
  ) {
    this.url = url;
    this.connection = connection;
    this.lastHeardAt = clock.now();
    if (breakerOptions !== false) {
      this.breaker = new CircuitBreaker(breakerOptions, clock);
      this.breaker.onStateChange((to, from) => onBreaker(this, to, from));
    }
    this.unsubscribe = connection.onEvent((event) => {
      if (event.type === 'activity') {
        this.heard();
        return;
      }
      const down = event.status === 'closed' || event.status === 'reconnecting';
      if (event.status === 'open') this.heard();
      this.update(
        'connectionDown',
        down,
        down
          ? `connection ${event.status}${event.error ? `: ${event.error.message}` : ''}`
          : 'connection open',
      );
    });
    if (connection.status === 'closed' || connection.status === 'reconnecting') {
      this.update('connectionDown', true, `connection ${connection.status}`);
    }
  }

  /** Peak-EWMA cost for the balancer. */
  get latencyCost(): number {
    return this.latency.peakEwmaMs(this.clock.now());
  }

  /** Whether new calls should go here when there is a choice. */
  get usable(): boolean {
    return (
      !this.removed &&
      (this.state === 'healthy' || this.state === 'probing') &&
      (this.breaker === undefined || this.breaker.isAvailable()) &&
      this.backoffUntil <= this.clock.now()
    );
  }

  startHeartbeat(
    options: Partial<HeartbeatOptions>,
    ping: (signal: AbortSignal, timeoutMs: number) => Promise<void>,
  ): void {
    this.heartbeat = new HeartbeatMonitor(
      async (signal, timeoutMs) => {
        await ping(signal, timeoutMs);
        this.heard();
      },
      (verdict) => this.update('heartbeatSuspect', verdict.suspect, `heartbeat: ${verdict.reason}`),
      options,
      this.clock,
    );
    this.heartbeat.start();
  }

  /**
   * Marks the start of an attempt; returns its start time. `rescue` is called (once) if the
   * endpoint turns suspect, down or ejected while the attempt waits, so that an idempotent call
   * can be tried elsewhere instead of waiting for its deadline.
   */
  begin(token: number, rescue?: () => void): number {
    const now = this.clock.now();
    this.inFlight++;
    this.started.set(token, now);
    if (rescue !== undefined) this.rescuers.set(token, rescue);
    return now;
  }

  /**
   * Marks the end of an attempt. `abandoned` is an attempt given up without an answer (a lost
   * hedge, a timeout): if nothing came back since it started, it still counts for stall suspicion.
   */
  end(token: number, abandoned = false): void {
    const startedAt = this.started.get(token);
    if (startedAt === undefined) return;
    this.started.delete(token);
    if (this.rescuers.size > 0) this.rescuers.delete(token);
    this.inFlight--;
    if (
      abandoned &&
      startedAt >= this.lastHeardAt &&
      (this.unansweredSince === undefined || startedAt < this.unansweredSince)
    ) {
      this.unansweredSince = startedAt;
    }
  }

  /** Something came back from the peer: proof of life. */
  heard(): void {
    this.lastHeardAt = this.clock.now();
    this.unansweredSince = undefined;
    this.heartbeat?.alive();
    const signals = this.signals;
    if (!signals.stalled && !signals.recovering && !signals.refused) return;
    signals.stalled = false;
    signals.refused = false;
    if (!signals.connectionDown && !signals.heartbeatSuspect && !signals.ejected) signals.recovering = false;
    this.reason = 'answered again';
    this.derive();
  }

  /**
   * Stall suspicion: the oldest in-flight call is older than max(multiplier × EWMA, minimum) and
   * nothing has come back from the endpoint since it started.
   */
  checkStall(options: StallDetectionOptions, now: number): void {
    if (this.signals.stalled) return;
    // The oldest attempt that started after the last answer: older ones are excused by that answer.
    let oldest = this.unansweredSince;
    if (oldest === undefined) {
      for (const startedAt of this.started.values()) {
        if (startedAt >= this.lastHeardAt) {
          oldest = startedAt;
          break;
        }
      }
    }
    if (oldest === undefined) return;
    const threshold = Math.max(options.latencyMultiplier * this.latency.ewmaMs, options.minimumMs);
    const age = now - oldest;
    if (age > threshold) {
      this.update(
        'stalled',
        true,
        `a call in flight for ${Math.round(age)} ms, nothing back since (threshold ${Math.round(threshold)} ms)`,
      );
    }
  }

  /** Whether stall checks have anything to look at. */
  get awaitingAnswer(): boolean {
    return this.started.size > 0 || this.unansweredSince !== undefined;
  }

  /** A refused connection: down until `until` (client time), then probed again. */
  refuse(until: number, reason: string): void {
    this.backoffUntil = until;
    this.update('refused', true, reason);
  }

  /** Ends a refusal whose backoff is over, so that the next call probes the endpoint. */
  expireRefusal(now: number): void {
    if (this.signals.refused && now >= this.backoffUntil)
      this.update('refused', false, 'retrying after a refused connection');
  }

  setEjected(ejected: boolean, reason: string): void {
    this.update('ejected', ejected, reason);
  }

  stats(): EndpointStats {
    return {
      url: this.url,
      state: this.state,
      breaker: this.breaker?.state ?? 'off',
      inFlight: this.inFlight,
      successes: this.successes,
      failures: { ...this.failures },
      latencyEwmaMs: this.latency.ewmaMs,
      latencyP50Ms: this.latency.percentile(50),
      latencyP99Ms: this.latency.percentile(99),
    };
  }

  close(): Promise<void> {
    this.heartbeat?.stop();
    this.unsubscribe();
    return this.connection.close();
  }

  private update(signal: keyof HealthSignals, value: boolean, reason: string): void {
    if (this.signals[signal] === value) return;
    const wasBad = this.state !== 'healthy' && this.state !== 'probing';
    this.signals[signal] = value;
    if (!value && wasBad && signal !== 'recovering') this.signals.recovering = true;
    this.reason = reason;
    this.derive();
  }

  private derive(): void {
    const signals = this.signals;
    let next: EndpointState;
    if (signals.ejected) next = 'ejected';
    else if (signals.connectionDown || signals.heartbeatSuspect || signals.refused) next = 'down';
    else if (signals.stalled) next = 'suspect';
    else if (signals.recovering) next = 'probing';
    else next = 'healthy';
    if (next === this.state) return;
    const from = this.state;
    this.state = next;
    this.onState(this, from, next, this.reason);
    if ((next === 'suspect' || next === 'down' || next === 'ejected') && this.rescuers.size > 0) {
      const rescuers = [...this.rescuers.values()];
      this.rescuers.clear();
      // After the state change has settled: a rescue picks endpoints, which reads states.
      queueMicrotask(() => {
        for (const rescue of rescuers) rescue();
      });
    }
  }
}
