import { HeartbeatMonitor, type HeartbeatOptions } from '../detection/heartbeat.js';
import { LatencyTracker } from '../detection/latency-tracker.js';
import type { OutlierDetector } from '../detection/outlier-detector.js';
import { ConnectionLostError } from '../errors/kinds.js';
import type { FailureKind, RpcError } from '../errors/rpc-error.js';
import type { EndpointState } from '../events/types.js';
import type { BalancerCandidate } from '../recovery/balancer.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../recovery/circuit-breaker.js';
import type { ClientConnection, ConnectionEvent } from '../transport.js';
import type { Clock } from '../util/clock.js';
import { ANSWER, EndpointHealth, type HealthSignal } from './endpoint-health.js';
import type { EndpointStats } from './types.js';

/** An attempt waiting on an endpoint, linked into the endpoint's in-flight list (oldest first). */
export interface PendingAttempt {
  /** Client time the attempt was sent. */
  readonly startedAt: number;
  /** The method called (`rpc.batch` for a batch): the overtaken rule compares calls of one method. */
  readonly method: string;
  /** Whether the attempt's call may still be copied elsewhere (idempotent, not yet rescued or settled). */
  readonly rescuable: boolean;
  previousOnEndpoint: PendingAttempt | undefined;
  nextOnEndpoint: PendingAttempt | undefined;
  /**
   * Called when the endpoint turns suspect, down or ejected while the attempt waits, so that an
   * idempotent call can be tried elsewhere at once (rescue).
   */
  onEndpointUnhealthy(): void;
  /**
   * Called when later calls of the same method on this endpoint have answered while this one has
   * not (its request is presumed lost): an idempotent call is tried elsewhere, the endpoint is
   * not marked.
   */
  onOvertaken(): void;
  /**
   * Called when the endpoint's persistent connection reports it is reconnecting or closed while
   * the attempt waits: the reply cannot come back on that connection, so the attempt settles
   * with `error` (`connection-lost`) and the call's retry policy decides what follows.
   */
  onConnectionLost(error: RpcError): void;
}

/** What an endpoint has seen of one method: its latency, and the latest answered attempt's start. */
class MethodRecord {
  /** Latency of this method's successful attempts here (EWMA only: a one-sample reservoir). */
  readonly latency = new LatencyTracker(10_000, { reservoirSize: 1 });
  /** Client time the latest-sent attempt that was answered (result or JSON-RPC error) was sent. */
  answeredSentAt = Number.NEGATIVE_INFINITY;
}

/** Methods an endpoint keeps records for at most; then the records restart (bounded memory). */
const MAX_METHOD_RECORDS = 1_000;

/** The longest local backoff after a refusal, in ms. */
const MAX_REFUSAL_BACKOFF_MS = 5_000;
/** The first local backoff after a refusal, in ms (doubles per consecutive refusal). */
const FIRST_REFUSAL_BACKOFF_MS = 100;

/**
 * The client's view of one endpoint: its connection, its attempts in flight, latency, breaker,
 * heartbeat, and its {@link EndpointHealth} (fed only through {@link signal}).
 */
export class Endpoint implements BalancerCandidate {
  readonly url: string;
  readonly connection: ClientConnection;
  readonly latency = new LatencyTracker();
  readonly breaker: CircuitBreaker | undefined;
  readonly health: EndpointHealth;
  readonly failures: Partial<Record<FailureKind, number>> = {};
  successes = 0;
  inFlight = 0;
  removed = false;
  /** Client time of the last thing that came back from this endpoint (response, pong, activity). */
  lastHeardAt: number;
  /** The client time the balancer's latency cost is computed for (set by the selector before a pick). */
  pickedAt = 0;
  /** Start of the oldest attempt abandoned with nothing heard since its abandonment (see {@link end}). */
  unansweredSince: number | undefined;
  /** The latency of every endpoint together (the hedge delay's p95), fed with this one's answers. */
  sharedLatency: LatencyTracker | undefined;
  /** A stall probe in flight (see stall suspicion). */
  probing = false;
  /**
   * Client time the latest-sent probe (stall probe or heartbeat) that was answered was sent: for
   * the overtaken rule, it overtakes every call sent before it (see {@link overtaken}).
   */
  private probeAnsweredSentAt = Number.NEGATIVE_INFINITY;
  /** The connection's last reported status was `open` (see {@link onConnectionEvent}). */
  private connectionOpen: boolean;
  /** Per-method latency and latest answer, for the overtaken rule (see {@link overtaken}). */
  private readonly methods = new Map<string, MethodRecord>();
  /** The record of the method answered last (a lookup saved when answers repeat a method). */
  private lastMethod: string | undefined;
  private lastRecord: MethodRecord | undefined;
  private oldest: PendingAttempt | undefined;
  private newest: PendingAttempt | undefined;
  private consecutiveRefusals = 0;
  /** Waiting calls sent before this client time are excused (a stall probe was answered then)… */
  private excusedBefore = Number.NEGATIVE_INFINITY;
  /** …until this client time (see {@link excuse}). */
  private excusedUntil = Number.NEGATIVE_INFINITY;
  private heartbeat: HeartbeatMonitor | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    url: string,
    connection: ClientConnection,
    private readonly clock: Clock,
    private readonly outlier: OutlierDetector | undefined,
    onState: (endpoint: Endpoint, from: EndpointState, to: EndpointState, reason: string) => void,
    breakerOptions: Partial<CircuitBreakerOptions> | false,
    onBreaker: (endpoint: Endpoint, to: CircuitBreaker['state'], from: CircuitBreaker['state']) => void,
  ) {
    this.url = url;
    this.connection = connection;
    this.lastHeardAt = clock.now();
    this.health = new EndpointHealth((from, to, reason) => {
      onState(this, from, to, reason);
      if (to === 'suspect' || to === 'down' || to === 'ejected') this.rescueWaiting();
    });
    if (breakerOptions !== false) {
      this.breaker = new CircuitBreaker(breakerOptions, clock);
      this.breaker.onStateChange((to, from) => onBreaker(this, to, from));
    }
    this.connectionOpen = connection.status === 'open';
    this.unsubscribe = connection.onEvent((event) => this.onConnectionEvent(event));
    if (connection.status === 'closed' || connection.status === 'reconnecting') {
      this.signal({
        type: 'connection',
        status: connection.status,
        reason: `connection ${connection.status}`,
      });
    }
  }

  /** The health state. */
  get state(): EndpointState {
    return this.health.state;
  }

  /** Peak-EWMA cost for the balancer, at the time of the current pick. */
  get latencyCost(): number {
    return this.latency.peakEwmaMs(this.pickedAt);
  }

  /** Whether new calls should go here when there is a choice, at client time `now`. */
  usableAt(now: number): boolean {
    const state = this.health.state;
    return (
      !this.removed &&
      (state === 'healthy' || state === 'probing') &&
      (this.breaker === undefined || this.breaker.isAvailable()) &&
      this.health.backoffUntil <= now
    );
  }

  /** Whether new calls should go here when there is a choice. */
  get usable(): boolean {
    return this.usableAt(this.clock.now());
  }

  /**
   * Feeds a health signal; an `answer` also counts as a heartbeat. `now`: the client time, when the
   * caller already read it.
   */
  signal(signal: HealthSignal, now?: number): void {
    if (signal.type === 'answer') {
      const at = now ?? this.clock.now();
      this.lastHeardAt = at;
      this.unansweredSince = undefined;
      this.heartbeat?.alive(at);
    }
    this.health.apply(signal);
  }

  startHeartbeat(
    options: Partial<HeartbeatOptions>,
    ping: (signal: AbortSignal, timeoutMs: number) => Promise<void>,
  ): void {
    this.heartbeat = new HeartbeatMonitor(
      async (signal, timeoutMs) => {
        const sentAt = this.clock.now();
        await ping(signal, timeoutMs);
        this.probeAnswered(sentAt);
        this.signal(ANSWER);
      },
      (verdict) =>
        this.signal({ type: 'probe', ok: !verdict.suspect, reason: `heartbeat: ${verdict.reason}` }),
      options,
      this.clock,
    );
    this.heartbeat.start();
  }

  /** Marks the start of an attempt sent at `attempt.startedAt`. */
  begin(attempt: PendingAttempt): void {
    this.inFlight++;
    attempt.previousOnEndpoint = this.newest;
    attempt.nextOnEndpoint = undefined;
    if (this.newest === undefined) this.oldest = attempt;
    else this.newest.nextOnEndpoint = attempt;
    this.newest = attempt;
  }

  /**
   * Marks the end of an attempt. `abandoned` is an attempt given up without an answer (a lost
   * hedge, a timeout): until something comes back, it still counts for stall suspicion.
   */
  end(attempt: PendingAttempt, abandoned: boolean): void {
    const previous = attempt.previousOnEndpoint;
    const next = attempt.nextOnEndpoint;
    if (previous === undefined) {
      if (this.oldest !== attempt) return; // not in the list
      this.oldest = next;
    } else previous.nextOnEndpoint = next;
    if (next === undefined) this.newest = previous;
    else next.previousOnEndpoint = previous;
    attempt.previousOnEndpoint = undefined;
    attempt.nextOnEndpoint = undefined;
    this.inFlight--;
    const startedAt = attempt.startedAt;
    if (abandoned && (this.unansweredSince === undefined || startedAt < this.unansweredSince)) {
      this.unansweredSince = startedAt;
    }
  }

  /**
   * Since when this endpoint has been silent towards a call waiting on it, at client time `now`:
   * max(the start of the oldest waiting call, the last answer), or undefined when no call waits.
   * An answer does not excuse the calls sent before it for good — the peer may hang right after
   * it, with nothing sent to it since — it only restarts the silence. Calls a stall probe's answer
   * excused (see {@link excuse}) do not count until that excuse ends.
   */
  silentSince(now: number): number | undefined {
    const excused = now < this.excusedUntil ? this.excusedBefore : Number.NEGATIVE_INFINITY;
    let since = this.unansweredSince;
    if (since !== undefined && since < excused) since = undefined;
    for (
      let attempt: PendingAttempt | undefined = this.oldest;
      attempt !== undefined;
      attempt = attempt.nextOnEndpoint
    ) {
      const startedAt = attempt.startedAt;
      if (startedAt < excused) continue;
      if (since === undefined || startedAt < since) since = startedAt;
      break;
    }
    return since === undefined ? undefined : Math.max(since, this.lastHeardAt);
  }

  /**
   * A stall probe was answered at client time `now`: the calls waiting now are legitimately slow.
   * They are excused for max(`minimumMs`, the oldest one's age), so that a long call on an idle
   * endpoint is probed once per doubling of its age, not once per threshold.
   */
  excuse(now: number, minimumMs: number): void {
    let oldest = this.unansweredSince ?? now;
    if (this.oldest !== undefined && this.oldest.startedAt < oldest) oldest = this.oldest.startedAt;
    this.excusedBefore = now;
    this.excusedUntil = now + Math.max(minimumMs, now - oldest);
  }

  /** Whether stall checks have anything to look at. */
  get awaitingAnswer(): boolean {
    return this.oldest !== undefined || this.unansweredSince !== undefined;
  }

  /**
   * Feeds the outcome (`failure` undefined: success) of an attempt of `method` sent at `sentAt`
   * into latency, breaker, outlier detection and health. Which kinds count against the endpoint is
   * decided by kind alone, except that a `local` failure (this process's own admission control,
   * or a request the caller gave that cannot be sent at all) never counts: it says nothing about
   * the peer.
   */
  recordOutcome(
    failure: RpcError | undefined,
    latencyMs: number,
    now: number,
    method: string,
    sentAt: number,
    local = false,
  ): void {
    const breaker = this.breaker;
    if (failure === undefined) {
      this.successes++;
      this.latency.record(latencyMs, now);
      this.answered(method, sentAt, latencyMs, now);
      this.sharedLatency?.record(latencyMs, now);
      breaker?.record(true);
      this.outlier?.record(this.url, true, now);
      this.consecutiveRefusals = 0;
      this.signal(ANSWER, now);
      return;
    }
    this.failures[failure.kind] = (this.failures[failure.kind] ?? 0) + 1;
    if (local || failure.local) {
      breaker?.release();
      return;
    }
    switch (failure.kind) {
      case 'remote':
        this.answered(method, sentAt, undefined, now);
        this.signal(ANSWER, now);
        // The server answered: it is alive. An error it marks retryable ("unavailable, try
        // elsewhere") still counts against its health, as Envoy counts a 503.
        breaker?.record(!failure.retryable);
        this.outlier?.record(this.url, !failure.retryable, now);
        return;
      case 'rejected':
        // Not processed (draining, overloaded, NATS no responders): not proof that a replica
        // serves, so it is not a heartbeat. Down until the Retry-After hint or a short backoff.
        breaker?.release();
        this.refused(failure, now, failure.retryAfterMs);
        return;
      case 'cancelled':
        breaker?.release();
        return;
      case 'not-sent':
        breaker?.record(false);
        this.outlier?.record(this.url, false, now);
        // A refused connection is cheap to detect and cheap to avoid: down, then probed after a backoff.
        this.refused(failure, now, undefined);
        return;
      default:
        breaker?.record(false);
        this.outlier?.record(this.url, false, now);
    }
  }

  /** A probe (stall probe or heartbeat) sent at client time `sentAt` was answered. */
  probeAnswered(sentAt: number): void {
    if (sentAt > this.probeAnsweredSentAt) this.probeAnsweredSentAt = sentAt;
  }

  /**
   * The attempts waiting here that are presumed lost, at client time `now`: idempotent, older
   * than max(`multiplier` × their method's latency EWMA here, `minimumMs`), and overtaken — an
   * attempt of the same method, or a probe, sent after them has been answered. A probe counts
   * because the balancer sends nothing new to an endpoint whose lost calls it sees in flight, so no
   * call of the method may ever overtake them; the method's own latency (a record here is
   * required) still sets the bar, so a lone call of a method never answered here is never copied.
   * Oldest first; undefined when there is none. Walks only the attempts older than `minimumMs`
   * (the list is oldest first).
   */
  overtaken(now: number, multiplier: number, minimumMs: number): PendingAttempt[] | undefined {
    let found: PendingAttempt[] | undefined;
    for (
      let attempt: PendingAttempt | undefined = this.oldest;
      attempt !== undefined;
      attempt = attempt.nextOnEndpoint
    ) {
      const age = now - attempt.startedAt;
      if (age <= minimumMs) break;
      if (!attempt.rescuable) continue;
      const record = this.methods.get(attempt.method);
      if (record === undefined) continue;
      const startedAt = attempt.startedAt;
      if (record.answeredSentAt <= startedAt && this.probeAnsweredSentAt <= startedAt) continue;
      if (age <= multiplier * record.latency.ewmaMs) continue;
      (found ??= []).push(attempt);
    }
    return found;
  }

  /** The endpoint left the set: waiting idempotent calls are rescued elsewhere at once. */
  retire(): void {
    this.removed = true;
    this.rescueWaiting();
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

  /** An attempt of `method` sent at `sentAt` was answered (`latencyMs` undefined: an error answer). */
  private answered(method: string, sentAt: number, latencyMs: number | undefined, now: number): void {
    let record = method === this.lastMethod ? this.lastRecord : this.methods.get(method);
    if (record === undefined) {
      if (this.methods.size >= MAX_METHOD_RECORDS) this.methods.clear();
      record = new MethodRecord();
      this.methods.set(method, record);
    }
    this.lastMethod = method;
    this.lastRecord = record;
    if (sentAt > record.answeredSentAt) record.answeredSentAt = sentAt;
    if (latencyMs !== undefined) record.latency.record(latencyMs, now);
  }

  private refused(failure: RpcError, now: number, hintMs: number | undefined): void {
    this.consecutiveRefusals++;
    const backoffMs =
      hintMs ??
      Math.min(MAX_REFUSAL_BACKOFF_MS, FIRST_REFUSAL_BACKOFF_MS * 2 ** (this.consecutiveRefusals - 1));
    this.signal({
      type: 'failure',
      kind: failure.kind,
      until: now + backoffMs,
      reason: `${failure.kind === 'rejected' ? 'rejected' : 'not sent'}: ${failure.message}`,
    });
  }

  private onConnectionEvent(event: ConnectionEvent): void {
    if (event.type === 'activity') {
      this.signal(ANSWER);
      return;
    }
    if (event.status === 'open') this.signal(ANSWER);
    const down = event.status === 'closed' || event.status === 'reconnecting';
    this.signal({
      type: 'connection',
      status: event.status,
      reason: down
        ? `connection ${event.status}${event.error ? `: ${event.error.message}` : ''}`
        : 'connection open',
    });
    // A persistent connection's loss fails every call pending on it (the transport contract).
    // Adapters do it themselves; this makes sure no call waits for its deadline when one does not.
    // Only a connection that was open can have carried a request: calls queued while it was
    // still connecting were never sent, and the adapter fails them as it sees fit (`not-sent`).
    const wasOpen = this.connectionOpen;
    this.connectionOpen = event.status === 'open';
    if (down && wasOpen && this.connection.capabilities.persistentConnection) this.failWaiting(event);
  }

  /** Settles every attempt waiting here as `connection-lost` (after the state change settled). */
  private failWaiting(event: ConnectionEvent & { type: 'status' }): void {
    if (this.oldest === undefined) return;
    const cause = event.error;
    // The adapter's reason, with this endpoint named (the original kept as the cause).
    const error =
      cause !== undefined && cause.kind === 'connection-lost' && cause.endpoint === this.url
        ? cause
        : new ConnectionLostError(cause?.message ?? `the connection to ${this.url} is ${event.status}`, {
            endpoint: this.url,
            ...(cause !== undefined && { cause }),
          });
    const waiting = this.waitingAttempts();
    // Not from inside the transport's event: a retry may send on another endpoint at once.
    queueMicrotask(() => {
      for (const attempt of waiting) attempt.onConnectionLost(error);
    });
  }

  /** The attempts waiting here, oldest first, as a copy (settling one unlinks it). */
  private waitingAttempts(): PendingAttempt[] {
    const waiting: PendingAttempt[] = [];
    for (let attempt = this.oldest; attempt !== undefined; attempt = attempt.nextOnEndpoint)
      waiting.push(attempt);
    return waiting;
  }

  /** Tells every attempt waiting here that the endpoint turned unhealthy (after the change settled). */
  private rescueWaiting(): void {
    if (this.oldest === undefined) return;
    const waiting = this.waitingAttempts();
    // After the state change has settled: a rescue picks endpoints, which reads states.
    queueMicrotask(() => {
      for (const attempt of waiting) attempt.onEndpointUnhealthy();
    });
  }
}
