import { CancelledError, TimeoutError } from '../errors/kinds.js';
import { definedOnly } from '../recovery/options.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { PhiAccrualDetector, type PhiAccrualOptions } from './phi-accrual.js';

export interface HeartbeatOptions {
  /** Ping interval, in ms. Default 1 000. */
  intervalMs: number;
  /** A ping unanswered after this long counts as missed, in ms. Default = intervalMs. */
  timeoutMs: number;
  /** Consecutive missed pings that make the endpoint suspect on their own. Default 3. */
  maxMissed: number;
  /** A timer firing this much later than scheduled means our own event loop stalled, in ms. Default 250. */
  stallToleranceMs: number;
  /** Options of the phi-accrual detector fed by every sign of life. */
  phi: Partial<PhiAccrualOptions>;
}

export const HeartbeatDefaults: Omit<HeartbeatOptions, 'phi'> = {
  intervalMs: 1_000,
  timeoutMs: 1_000,
  maxMissed: 3,
  stallToleranceMs: 250,
};

/** What the monitor thinks of the peer. */
export interface HeartbeatVerdict {
  readonly suspect: boolean;
  readonly phi: number;
  readonly missed: number;
  readonly reason: string;
}

interface InFlightPing {
  readonly controller: AbortController;
  timer: TimerHandle | undefined;
  /** When the timeout timer is due. */
  due: number;
  settled: boolean;
}

/**
 * One endpoint's heartbeat: every `intervalMs` it calls `ping` (the transport's ping or
 * `rpc.ping`), feeds every answer and every other sign of life (`alive()`) into a phi-accrual
 * detector, counts consecutive misses, and reports verdict changes. A timer that fires late by
 * more than `stallToleranceMs` is our own stall: the gap is excused, not held against the peer.
 *
 * Details:
 * - the first ping goes out on `start()`, then one per `intervalMs`; a ping still unanswered when
 *   the next is due (timeoutMs > intervalMs) is not doubled;
 * - `ping` must resolve on any answer from the peer and reject otherwise; a rejection or a timeout
 *   is a miss; an answer or `alive()` resets the miss count and is a heartbeat for phi;
 * - the verdict is suspect when misses ≥ `maxMissed` or phi ≥ the phi threshold; `onVerdict` is
 *   called only when `suspect` changes. Verdicts are re-evaluated on every tick, ping outcome,
 *   `verdict()` call, and on `alive()` while suspect;
 * - stalls: when our tick or a ping's timeout timer fires more than `stallToleranceMs` late, the
 *   lateness is excused in the phi detector (`excusePause`), and a ping whose timeout fired late
 *   gets a grace of `stallToleranceMs` (its answer may be waiting unread in a socket) before it
 *   counts as missed.
 */
export class HeartbeatMonitor {
  /** The phi-accrual detector fed by this monitor (read it for stats). */
  readonly detector: PhiAccrualDetector;
  private readonly options: Omit<HeartbeatOptions, 'phi'>;
  private readonly clock: Clock;
  private running = false;
  private tickTimer: TimerHandle | undefined;
  private tickDue = 0;
  private inFlight: InFlightPing | undefined;
  private missed = 0;
  private suspect = false;
  private reason = 'not started';
  private excusedUpTo = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ping: (signal: AbortSignal, timeoutMs: number) => Promise<void>,
    private readonly onVerdict: (verdict: HeartbeatVerdict) => void,
    options: Partial<HeartbeatOptions> = {},
    clock: Clock = systemClock,
  ) {
    const { phi, ...rest } = options;
    const merged = { ...HeartbeatDefaults, ...definedOnly(rest) };
    if (rest.timeoutMs === undefined) merged.timeoutMs = merged.intervalMs;
    merged.intervalMs = Math.max(1, merged.intervalMs);
    merged.timeoutMs = Math.max(1, merged.timeoutMs);
    merged.maxMissed = Math.max(1, Math.floor(merged.maxMissed));
    merged.stallToleranceMs = Math.max(0, merged.stallToleranceMs);
    this.options = merged;
    this.clock = clock;
    this.detector = new PhiAccrualDetector({
      firstHeartbeatEstimateMs: merged.intervalMs,
      ...definedOnly(phi ?? {}),
    });
  }

  /** Whether the monitor is running. */
  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.reason = 'monitoring';
    this.tickDue = this.clock.now();
    this.tick();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    const ping = this.inFlight;
    if (ping) {
      this.inFlight = undefined;
      ping.settled = true;
      ping.timer?.cancel();
      ping.controller.abort(new CancelledError('heartbeat stopped'));
    }
  }

  /** Any inbound traffic from the peer (a response, a pong): counts as a heartbeat. */
  alive(nowMs?: number): void {
    const now = nowMs ?? this.clock.now();
    this.detector.heartbeat(now);
    this.missed = 0;
    if (this.suspect) this.evaluate(now, 'peer alive');
  }

  /** The current verdict. */
  verdict(): HeartbeatVerdict {
    const now = this.clock.now();
    this.evaluate(now, this.reason);
    return { suspect: this.suspect, phi: this.detector.phi(now), missed: this.missed, reason: this.reason };
  }

  private tick(): void {
    this.tickTimer = undefined;
    if (!this.running) return;
    const now = this.clock.now();
    this.excuseIfLate(this.tickDue, now);
    // The ping (and its timeout timer) first: a timeout due with the next tick then fires before it.
    if (!this.inFlight) this.sendPing(now);
    if (!this.running) return; // the ping function called stop()
    this.tickDue = now + this.options.intervalMs;
    this.tickTimer = this.clock.setTimeout(() => this.tick(), this.options.intervalMs);
    this.evaluate(now, this.reason);
  }

  private sendPing(now: number): void {
    const { timeoutMs } = this.options;
    const ping: InFlightPing = {
      controller: new AbortController(),
      timer: undefined,
      due: now + timeoutMs,
      settled: false,
    };
    this.inFlight = ping;
    ping.timer = this.clock.setTimeout(() => this.onTimeout(ping), timeoutMs);
    let result: Promise<void>;
    try {
      result = this.ping(ping.controller.signal, timeoutMs);
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      () => this.onAnswer(ping),
      () => this.onMiss(ping, 'heartbeat failed'),
    );
  }

  private onAnswer(ping: InFlightPing): void {
    if (ping.settled) return;
    this.settle(ping);
    const now = this.clock.now();
    this.detector.heartbeat(now);
    this.missed = 0;
    this.evaluate(now, 'heartbeat answered');
  }

  private onTimeout(ping: InFlightPing): void {
    ping.timer = undefined;
    if (ping.settled) return;
    const now = this.clock.now();
    if (this.excuseIfLate(ping.due, now)) {
      // Our own stall: the answer may be waiting unread. Give it a grace before calling it missed.
      ping.due = now + this.options.stallToleranceMs;
      ping.timer = this.clock.setTimeout(() => this.onTimeout(ping), this.options.stallToleranceMs);
      return;
    }
    ping.controller.abort(new TimeoutError(`heartbeat unanswered after ${this.options.timeoutMs} ms`));
    this.onMiss(ping, 'heartbeat timed out');
  }

  private onMiss(ping: InFlightPing, reason: string): void {
    if (ping.settled) return;
    this.settle(ping);
    this.missed++;
    this.evaluate(this.clock.now(), reason);
  }

  private settle(ping: InFlightPing): void {
    ping.settled = true;
    ping.timer?.cancel();
    ping.timer = undefined;
    if (this.inFlight === ping) this.inFlight = undefined;
  }

  /**
   * If a timer due at `due` fired at `now` later than the stall tolerance, our event loop was
   * blocked: excuse the lateness in the phi detector (only the part no other late timer has
   * excused already) and return true.
   */
  private excuseIfLate(due: number, now: number): boolean {
    if (now - due <= this.options.stallToleranceMs) return false;
    const unexcused = now - Math.max(due, this.excusedUpTo);
    if (unexcused > 0) this.detector.excusePause(unexcused);
    this.excusedUpTo = now;
    return true;
  }

  private evaluate(now: number, healthyReason: string): void {
    const phi = this.detector.phi(now);
    const { threshold } = this.detector.options;
    let suspect = false;
    let reason = healthyReason;
    if (this.missed >= this.options.maxMissed) {
      suspect = true;
      reason = `${this.missed} missed heartbeats`;
    } else if (phi >= threshold) {
      suspect = true;
      reason = `phi ${formatPhi(phi)} ≥ ${threshold}`;
    }
    if (suspect === this.suspect) {
      if (suspect) this.reason = reason;
      return;
    }
    this.suspect = suspect;
    this.reason = reason;
    this.onVerdict({ suspect, phi, missed: this.missed, reason });
  }
}

function formatPhi(phi: number): string {
  return Number.isFinite(phi) ? phi.toFixed(1) : '∞';
}
