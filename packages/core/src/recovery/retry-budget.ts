import { type Clock, systemClock } from '../util/clock.js';

/** Finagle-style retry budget options. */
export interface RetryBudgetOptions {
  /** Retries allowed as a share of calls over the window. Default 0.2. */
  ratio: number;
  /** Retries always allowed per second regardless of traffic. Default 10. */
  minRetriesPerSecond: number;
  /** The sliding window deposits count over, in ms. Default 10 000. */
  windowMs: number;
}

export const RetryBudgetDefaults: RetryBudgetOptions = {
  ratio: 0.2,
  minRetriesPerSecond: 10,
  windowMs: 10_000,
};

/** Slices of the window: deposits and withdrawals expire one slice at a time (Finagle uses 10). */
const SLICES = 10;
/** Fixed-point scale: token amounts are integers, so no float drift can widen the budget. */
const SCALE = 1_000_000;

/**
 * A token bucket: every call deposits `ratio` tokens, every retry (or hedge) withdraws one; plus a
 * floor of `minRetriesPerSecond` over the window. Invariant: over any window, retries ≤
 * ratio·calls + minRetriesPerSecond·windowMs/1000 (+1 rounding).
 *
 * Like Finagle's `RetryBudget`, deposits and withdrawals live in a window of {@link SLICES}
 * slices that expire together, so the invariant holds exactly for the sliced window: at any time
 * `t`, the retries in (t − windowMs + windowMs/10, t] are at most ratio × the calls in
 * (t − windowMs, t] plus the floor's reserve. Every operation is O(1) and allocation-free.
 */
export class RetryBudget {
  private readonly deposit1: number;
  private readonly reserve: number;
  private readonly sliceMs: number;
  private readonly slices = new Float64Array(SLICES);
  private sum = 0;
  private head = 0;
  private headStart: number;

  constructor(
    options: Partial<RetryBudgetOptions> = {},
    private readonly clock: Clock = systemClock,
  ) {
    const ratio = clampNonNegative(options.ratio ?? RetryBudgetDefaults.ratio);
    const floorOption = options.minRetriesPerSecond ?? RetryBudgetDefaults.minRetriesPerSecond;
    // An infinite floor means "no budget": every retry is allowed.
    const floor = floorOption === Number.POSITIVE_INFINITY ? floorOption : clampNonNegative(floorOption);
    const windowMs = Math.max(1, options.windowMs ?? RetryBudgetDefaults.windowMs);
    // Rounded down: the budget may be a hair stricter than asked, never looser.
    this.deposit1 = Math.floor(ratio * SCALE);
    this.reserve =
      floor === Number.POSITIVE_INFINITY ? floor : Math.floor(((floor * windowMs) / 1000) * SCALE);
    this.sliceMs = windowMs / SLICES;
    this.headStart = clock.now();
  }

  /** Records a call (the first attempt). `nowMs`: the clock time, when the caller already read it. */
  deposit(nowMs?: number): void {
    this.expire(nowMs);
    this.add(this.deposit1);
  }

  /** Takes a token for a retry or hedge; false when the budget is exhausted. */
  tryWithdraw(): boolean {
    this.expire();
    if (this.sum + this.reserve < SCALE) return false;
    this.add(-SCALE);
    return true;
  }

  /** Tokens available now (for stats). */
  balance(): number {
    this.expire();
    return Math.max(0, Math.floor(this.sum + this.reserve) / SCALE);
  }

  private add(amount: number): void {
    this.slices[this.head] = (this.slices[this.head] ?? 0) + amount;
    this.sum += amount;
  }

  /** Drops the slices that left the window. At most {@link SLICES} steps, so O(1). */
  private expire(nowMs?: number): void {
    const now = nowMs ?? this.clock.now();
    const elapsed = now - this.headStart;
    if (!(elapsed >= this.sliceMs)) return; // also covers a clock that went backwards
    const steps = Math.floor(elapsed / this.sliceMs);
    if (steps >= SLICES) {
      this.slices.fill(0);
      this.sum = 0;
      this.head = 0;
    } else {
      for (let step = 0; step < steps; step++) {
        this.head = (this.head + 1) % SLICES;
        this.sum -= this.slices[this.head] ?? 0;
        this.slices[this.head] = 0;
      }
    }
    this.headStart += steps * this.sliceMs;
    if (this.headStart > now) this.headStart = now; // float safety
  }
}

function clampNonNegative(value: number): number {
  return value > 0 && Number.isFinite(value) ? value : 0;
}
