import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * The deadline policy: validates deadlines, and times every pending call's deadline with one
 * shared timer (armed for the earliest deadline) instead of one platform timer per call.
 */

/** The longest deadline accepted, in ms: 365 days (anything longer is almost surely a unit mistake). */
export const MAX_DEADLINE_MS = 365 * 24 * 60 * 60 * 1000;

/**
 * Checks a deadline given by the user and returns it: a finite number of milliseconds > 0 and ≤
 * {@link MAX_DEADLINE_MS}; `Infinity` only when `allowUnbounded` (the client's
 * `allowNoDeadline` option). Anything else is a TypeError naming `name` and the value.
 */
export function validateDeadlineMs(value: unknown, name: string, allowUnbounded: boolean): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number of milliseconds (got ${describe(value)})`);
  }
  if (value === Number.POSITIVE_INFINITY) {
    if (allowUnbounded) return value;
    throw new TypeError(
      `${name} must be finite (got Infinity); create the client with allowNoDeadline: true to allow calls without a deadline`,
    );
  }
  if (!(value > 0) || value > MAX_DEADLINE_MS) {
    throw new TypeError(
      `${name} must be more than 0 and at most ${MAX_DEADLINE_MS} ms (got ${describe(value)})`,
    );
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string "${value}"`;
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : typeof value;
}

/** Something with a deadline, timed by a {@link DeadlineTimer}; the timer keeps its place in the heap. */
export interface DeadlineEntry {
  /** Clock time the deadline passes at. */
  readonly deadlineAt: number;
  /** Index in the timer's heap; -1 when not scheduled. Owned by the timer. */
  deadlineSlot: number;
  /** Called once when the deadline passes (not when removed before). */
  onDeadline(): void;
}

/**
 * One platform timer for many deadlines: a binary min-heap of entries by `deadlineAt`, and one
 * clock timer armed for the earliest. Adding or removing an entry is O(log n) and allocates
 * nothing (but when the heap outgrows its key array); the clock timer is re-armed only when an earlier deadline arrives, or when it fires.
 * While an entry (or an unbounded call, see {@link hold}) is pending, the timer keeps the process
 * alive, as a pending socket would: a script awaiting a call always sees it settle.
 */
export class DeadlineTimer {
  private readonly heap: DeadlineEntry[] = [];
  /**
   * `deadlineAt` of the entry in each heap slot, read once when it is added (an entry's deadline
   * does not change while it is scheduled): the heap's comparisons read no entry (a `Call`
   * computes its `deadlineAt` on each read, a boxed number each time).
   */
  private keys = new Float64Array(INITIAL_KEYS);
  private timer: TimerHandle | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  private holds = 0;
  /** Set by {@link stopWhenIdle}: the timer is cancelled as soon as nothing is pending. */
  private stopping = false;
  private readonly fire = () => this.onTimer();
  private readonly keepsAlive: boolean;

  /**
   * `options.keepAlive` (default true): whether pending entries keep the process alive. The
   * server's timer for its handlers' deadlines passes false (its listeners hold the process).
   */
  constructor(
    private readonly clock: Clock,
    options?: { readonly keepAlive?: boolean },
  ) {
    this.keepsAlive = options?.keepAlive !== false;
  }

  /** Entries pending. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules `entry` for its `deadlineAt`. */
  add(entry: DeadlineEntry): void {
    const heap = this.heap;
    const at = entry.deadlineAt;
    const slot = heap.length;
    if (slot === this.keys.length) {
      const keys = new Float64Array(slot * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    heap.push(entry);
    this.up(slot, entry, at);
    if (at < this.armedAt) this.arm(at);
    else if (heap.length === 1 && this.holds === 0 && this.keepsAlive) this.timer?.keepAlive?.(true);
  }

  /** Unschedules `entry` (harmless if it is not scheduled). */
  remove(entry: DeadlineEntry): void {
    const slot = entry.deadlineSlot;
    if (slot < 0) return;
    entry.deadlineSlot = -1;
    const heap = this.heap;
    const last = heap.pop()!;
    if (slot < heap.length) {
      const at = this.keys[heap.length]!;
      if (slot > 0 && at < this.keys[(slot - 1) >> 1]!) this.up(slot, last, at);
      else this.down(slot, last, at);
    }
    // The armed timer is left as it is (re-arming per call would cost a platform timer per call):
    // when it fires early it re-arms for the new earliest. With nothing pending it stops holding
    // the process.
    if (heap.length === 0 && this.holds === 0) {
      if (this.stopping) this.disarm();
      else this.timer?.keepAlive?.(false);
    }
  }

  /**
   * The client is closing: cancel the timer as soon as nothing is pending (at once if nothing
   * is), so that a closed client leaves no timer behind; calls still pending keep their deadlines.
   */
  stopWhenIdle(): void {
    this.stopping = true;
    if (this.heap.length === 0 && this.holds === 0) this.disarm();
  }

  /** Keeps the process alive for a call without a deadline until {@link release}. */
  hold(): void {
    if (this.holds++ > 0) return;
    if (this.timer === undefined) this.arm(this.clock.now() + KEEP_ALIVE_MS);
    else if (this.keepsAlive) this.timer.keepAlive?.(true);
  }

  /** Ends a {@link hold}. */
  release(): void {
    if (--this.holds === 0 && this.heap.length === 0) {
      if (this.stopping) this.disarm();
      else this.timer?.keepAlive?.(false);
    }
  }

  /** Cancels the timer and forgets every entry (the client is closing). */
  clear(): void {
    for (const entry of this.heap) entry.deadlineSlot = -1;
    this.heap.length = 0;
    this.holds = 0;
    this.disarm();
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.armedAt = at;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, at - this.clock.now()), {
      keepAlive: this.keepsAlive,
    });
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    const heap = this.heap;
    while (heap.length > 0 && this.keys[0]! <= now) {
      const entry = heap[0]!;
      this.remove(entry);
      entry.onDeadline();
    }
    if (this.timer !== undefined) return; // an entry's onDeadline added an earlier one
    if (heap.length > 0) this.arm(this.keys[0]!);
    else if (this.holds > 0 && !this.stopping) this.arm(now + KEEP_ALIVE_MS);
  }

  /** Places `entry` (deadline `at`) at `slot` or above it. */
  private up(slot: number, entry: DeadlineEntry, at: number): void {
    const heap = this.heap;
    const keys = this.keys;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parentAt = keys[parentSlot]!;
      if (parentAt <= at) break;
      const parent = heap[parentSlot]!;
      heap[slot] = parent;
      keys[slot] = parentAt;
      parent.deadlineSlot = slot;
      slot = parentSlot;
    }
    heap[slot] = entry;
    keys[slot] = at;
    entry.deadlineSlot = slot;
  }

  /** Places `entry` (deadline `at`) at `slot` or below it. */
  private down(slot: number, entry: DeadlineEntry, at: number): void {
    const heap = this.heap;
    const keys = this.keys;
    const length = heap.length;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && keys[right]! < keys[left]! ? right : left;
      const childAt = keys[child]!;
      if (childAt >= at) break;
      const moved = heap[child]!;
      heap[slot] = moved;
      keys[slot] = childAt;
      moved.deadlineSlot = slot;
      slot = child;
    }
    heap[slot] = entry;
    keys[slot] = at;
    entry.deadlineSlot = slot;
  }
}

/** How often a keep-alive timer for calls without a deadline re-arms, in ms (one day). */
const KEEP_ALIVE_MS = 24 * 60 * 60 * 1000;
/** Heap slots the key array starts with (it doubles when full). */
const INITIAL_KEYS = 16;
