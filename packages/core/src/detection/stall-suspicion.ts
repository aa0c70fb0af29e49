import type { Endpoint } from '../client/endpoint.js';
import { ANSWER } from '../client/endpoint-health.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/** Stall suspicion options (a hung peer: calls stop completing). */
export interface StallDetectionOptions {
  /**
   * Look closer when a call waits on an endpoint that has answered nothing for longer than
   * `latencyMultiplier` × its latency EWMA… Default 4.
   */
  latencyMultiplier: number;
  /** …but never before this age, in ms. Default 250. */
  minimumMs: number;
  /** How often the client sweeps endpoints for stalls while calls are in flight, in ms. Default 100. */
  checkIntervalMs: number;
  /**
   * The corroborating probe (the transport's ping, else `rpc.ping`) must answer within this many
   * ms; if it does not, and nothing else came back meanwhile, the endpoint is suspect. Default 300.
   */
  probeTimeoutMs: number;
  /**
   * The overtaken rule: an idempotent call is presumed lost (and rescued elsewhere, the endpoint
   * not marked) once it is older than `overtakenMultiplier` × its method's latency EWMA on that
   * endpoint… Default 4.
   */
  overtakenMultiplier: number;
  /**
   * …and than this many ms, while a later call of the same method on that endpoint, or a probe
   * sent to it after the call, has been answered. Default 250.
   */
  overtakenMinimumMs: number;
}

/** A sweep timer this late (ms) means the client's own event loop stalled. */
const LOCAL_STALL_TOLERANCE_MS = 250;

/**
 * Stall suspicion: notices a hung peer (a SIGSTOPped process, a half-open connection) from calls
 * that stop completing, faster than heartbeats do. An endpoint that has answered nothing for
 * longer than max(multiplier × latency EWMA, minimum) while a call waits on it only raises the
 * question (the silence counts from the later of the call's start and the last answer: an answer
 * does not excuse the calls sent before it for good, as the peer may hang right after it with
 * nothing sent to it since). The answer comes from a probe: if the endpoint answers it, the waiting
 * calls are legitimately slow (excused, nothing is marked; the excuse lasts max(threshold, the
 * oldest one's age), so a long call is probed once per doubling of its age) unless the overtaken
 * rule below presumes them lost;
 * if the probe goes unanswered too and nothing else came back, the endpoint is `suspect` (and
 * waiting idempotent calls are rescued elsewhere).
 *
 * The same sweep applies the overtaken rule, for a request lost on its way (a broker node that
 * died with it, a dropped datagram) to an endpoint that is otherwise fine: an idempotent call
 * older than max(`overtakenMultiplier` × its method's latency EWMA there, `overtakenMinimumMs`)
 * on an endpoint that has since answered a later call of the same method, or a probe (stall probe
 * or heartbeat) sent after it, is rescued elsewhere (within the retry budget; the first answer
 * wins). The endpoint is not marked: it is alive, only that one request is gone. Removed endpoints
 * with calls still waiting (`retired`) stay watched.
 */
export class StallSuspicion {
  private timer: TimerHandle | undefined;
  private due = 0;
  private resumeAt = Number.NEGATIVE_INFINITY;
  /** The next time a call's start may run a check (at most one per sweep interval). */
  private nextCheckAt = Number.NEGATIVE_INFINITY;
  private readonly sweep = () => this.onSweep();

  constructor(
    private readonly options: StallDetectionOptions,
    private readonly clock: Clock,
    private readonly endpoints: readonly Endpoint[],
    /** Endpoints removed from the set while calls still wait on them. */
    private readonly retired: ReadonlySet<Endpoint>,
    /** Probes an endpoint; resolves when it answers, rejects on failure; stops when `signal` aborts. */
    private readonly probe: (endpoint: Endpoint, timeoutMs: number, signal: AbortSignal) => Promise<void>,
    /** Whether any call is in flight (sweeps stop when the client is idle). */
    private readonly busy: () => boolean,
  ) {}

  /**
   * A call started: check now if a sweep interval has passed since the last check (sweep timers
   * fire late on a loaded machine, and a late sweep is skipped; calls starting keep detection
   * going), and make sure sweeps run (they never keep an idle client busy).
   */
  callStarted(now: number): void {
    if (now >= this.nextCheckAt) this.check(now);
    if (this.timer !== undefined) return;
    this.due = now + this.options.checkIntervalMs;
    this.timer = this.clock.setTimeout(this.sweep, this.options.checkIntervalMs);
  }

  /** Stops sweeping (the client closes). */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Looks at every endpoint with an unanswered call now. */
  check(now: number): void {
    this.nextCheckAt = now + this.options.checkIntervalMs;
    if (now < this.resumeAt) return;
    for (const endpoint of this.endpoints) if (endpoint.awaitingAnswer) this.checkEndpoint(endpoint, now);
    for (const endpoint of this.retired) if (endpoint.awaitingAnswer) this.checkEndpoint(endpoint, now);
  }

  private onSweep(): void {
    this.timer = undefined;
    const now = this.clock.now();
    // A sweep that fires late means our own event loop was blocked: answers may be waiting
    // unread in socket buffers, so every endpoint would look stalled. Skip one interval.
    if (now - this.due > LOCAL_STALL_TOLERANCE_MS) this.resumeAt = now + this.options.checkIntervalMs;
    else this.check(now);
    if (this.busy() && this.timer === undefined) {
      this.due = now + this.options.checkIntervalMs;
      this.timer = this.clock.setTimeout(this.sweep, this.options.checkIntervalMs);
    }
  }

  private rescueOvertaken(endpoint: Endpoint, now: number): void {
    const { overtakenMultiplier, overtakenMinimumMs } = this.options;
    const lost = endpoint.overtaken(now, overtakenMultiplier, overtakenMinimumMs);
    if (lost !== undefined) for (const attempt of lost) attempt.onOvertaken();
  }

  private checkEndpoint(endpoint: Endpoint, now: number): void {
    this.rescueOvertaken(endpoint, now);
    if (endpoint.health.isStalled || endpoint.probing) return;
    const silentSince = endpoint.silentSince(now);
    if (silentSince === undefined) return;
    const { latencyMultiplier, minimumMs, probeTimeoutMs } = this.options;
    const threshold = Math.max(latencyMultiplier * endpoint.latency.ewmaMs, minimumMs);
    const age = now - silentSince;
    if (age <= threshold) return;
    endpoint.probing = true;
    const sentAt = now;
    let settled = false;
    const controller = new AbortController();
    const conclude = (answered: boolean) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (!answered) controller.abort(new Error('stall probe timed out'));
      endpoint.probing = false;
      const at = this.clock.now();
      if (answered) {
        // Alive: the calls waiting are legitimately slow, and excused for a while (see `excuse`)…
        endpoint.signal(ANSWER, at);
        endpoint.excuse(at, threshold);
        // …unless the probe, sent after them, overtook them: lost on the way (the overtaken rule).
        endpoint.probeAnswered(sentAt);
        this.rescueOvertaken(endpoint, at);
        return;
      }
      // Something else came back meanwhile (another answer), or nothing waits any more.
      if (endpoint.lastHeardAt > sentAt || endpoint.silentSince(at) === undefined) return;
      endpoint.signal({
        type: 'stall',
        stalled: true,
        reason: `nothing answered for ${Math.round(at - silentSince)} ms while a call waited (threshold ${Math.round(threshold)} ms), and a probe unanswered for ${probeTimeoutMs} ms`,
      });
    };
    const timer = this.clock.setTimeout(() => conclude(false), probeTimeoutMs);
    this.probe(endpoint, probeTimeoutMs, controller.signal).then(
      () => conclude(true),
      () => conclude(false),
    );
  }
}
