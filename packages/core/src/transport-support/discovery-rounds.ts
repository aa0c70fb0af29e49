import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { CallBounds } from './open-wait.js';

/** What a probe of one member found: it answered, it is gone for sure, or it stayed silent. */
export type ProbeResult = 'alive' | 'gone' | 'silent';

/** How a {@link DiscoveryRounds} reaches the members of a service (the adapter's side). */
export interface DiscoverySource {
  /** Sends one round's question to every member; false when it cannot be sent now (the round does not count). */
  ask(): boolean;
  /** Asks one member itself whether it is alive, within `bounds` (aborted at `stop()`). */
  probe(key: string, bounds: CallBounds): Promise<ProbeResult>;
  /** The member set changed: every member's key, sorted. */
  update(keys: string[]): void;
}

/** The timing of a {@link DiscoveryRounds}. */
export interface DiscoveryRoundsOptions {
  readonly clock: Clock;
  readonly random: Random;
  /** Time between two rounds, ms (also each probe's timeout). */
  readonly intervalMs: number;
  /** Each interval is drawn from ±`jitterRatio / 2` around `intervalMs`. */
  readonly jitterRatio: number;
  /** A member silent this long (it answers neither rounds nor probes) is dropped, ms. */
  readonly forgetAfterMs: number;
  /** Most members kept; answers of more are ignored. */
  readonly maxMembers: number;
  /** A member a call found gone ({@link DiscoveryRounds.suspectGone}) is probed this much later, ms. */
  readonly confirmGoneAfterMs: number;
}

interface Member {
  /** The round it last answered (or answered a probe in). */
  lastSeenRound: number;
  probing: boolean;
  /**
   * The number of rounds sent when it was found gone. A second sighting, or silence through the
   * next round, drops it.
   */
  goneAtRound: number | undefined;
  /** The confirmation probe scheduled after a call found it gone. */
  confirm: TimerHandle | undefined;
}

/**
 * The members behind one service address, kept current by rounds of a broadcast question: every
 * interval (with jitter, so that many clients do not ask at once) the source asks, and each
 * answer ({@link seen}) adds or refreshes a member. A member that missed a round, or that a call
 * found gone, is probed by itself: "gone" seen twice (or followed by a silent round) drops it;
 * silence means it hangs, and it is kept until `forgetAfterMs` while the client's health decides
 * its traffic, so that a pause never makes the member set flap. Used by the NATS client's
 * instance discovery; any discovery that polls a broadcast question (a registry, DNS) fits.
 */
export class DiscoveryRounds {
  private readonly members = new Map<string, Member>();
  private readonly forgetAfterRounds: number;
  private readonly stopProbes = new AbortController();
  private timer: TimerHandle | undefined;
  private round = 0;
  private announced = '';
  private stopped = false;

  constructor(
    private readonly source: DiscoverySource,
    private readonly options: DiscoveryRoundsOptions,
  ) {
    this.forgetAfterRounds = Math.max(2, Math.ceil(options.forgetAfterMs / options.intervalMs));
  }

  /** Starts the rounds: the first one now. */
  start(): void {
    if (this.stopped) return;
    this.ask();
    const { intervalMs, jitterRatio, random, clock } = this.options;
    const delayMs = intervalMs * (1 - jitterRatio / 2 + random() * jitterRatio);
    this.timer = clock.setTimeout(() => this.start(), delayMs);
  }

  /** Stops asking and probing and forgets the members. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    for (const member of this.members.values()) member.confirm?.cancel();
    this.stopProbes.abort();
  }

  /** One round: drop what stayed silent too long, probe what missed the last round, ask again. */
  ask(): void {
    // not connected: rounds that cannot be sent do not count
    if (this.stopped || !this.source.ask()) return;
    let changed = false;
    for (const [key, member] of this.members) {
      const missed = this.round - member.lastSeenRound;
      // gone, and silent through a whole round sent since: it did not just reconnect
      if (missed >= this.forgetAfterRounds || this.round - (member.goneAtRound ?? this.round) >= 1) {
        changed = this.forget(key, member) || changed;
      } else if (missed >= 1 && !member.probing) {
        this.probe(key, member);
      }
    }
    this.round++;
    if (changed) this.announce();
  }

  /** A member answered a round: refreshed, or added (while fewer than `maxMembers`). */
  seen(key: string): void {
    if (this.stopped) return;
    const known = this.members.get(key);
    if (known !== undefined) this.refresh(known);
    else if (this.members.size < this.options.maxMembers) {
      const member = { lastSeenRound: 0, probing: false, goneAtRound: undefined, confirm: undefined };
      this.members.set(key, this.refresh(member));
      this.announce();
    }
  }

  /** A call found the member gone: confirmed by a probe `confirmGoneAfterMs` later. */
  suspectGone(key: string): void {
    const member = this.members.get(key);
    // (a probe's own "gone" is judged by the probe)
    if (this.stopped || member === undefined || member.probing || member.confirm !== undefined) return;
    member.goneAtRound = this.round;
    // (`stop()` and `forget()` cancel the timer)
    member.confirm = this.options.clock.setTimeout(() => {
      member.confirm = undefined;
      if (!member.probing) this.probe(key, member);
    }, this.options.confirmGoneAfterMs);
  }

  private refresh(member: Member): Member {
    member.lastSeenRound = this.round;
    member.goneAtRound = undefined;
    return member;
  }

  private probe(key: string, member: Member): void {
    member.probing = true;
    const bounds = { signal: this.stopProbes.signal, timeoutMs: this.options.intervalMs };
    this.source
      .probe(key, bounds)
      .then(
        (result) => {
          // alive: it answers calls, whatever kept its round answer away. Gone: seen twice, or
          // followed by a silent round, it is dropped: a member that only reconnects keeps its
          // endpoint and health history, and calls still waiting on a dead one get time to be
          // rescued by the client first. Silent: the client's health checks decide.
          if (result === 'alive') this.refresh(member);
          else if (result === 'gone') {
            if (member.goneAtRound === undefined) member.goneAtRound = this.round;
            else if (this.forget(key, member)) this.announce();
          }
        },
        () => {},
      )
      .finally(() => {
        member.probing = false;
      });
  }

  /** Drops the member; false if it was dropped already. */
  private forget(key: string, member: Member): boolean {
    member.confirm?.cancel();
    return this.members.get(key) === member && this.members.delete(key);
  }

  private announce(): void {
    if (this.stopped) return;
    const keys = [...this.members.keys()].sort();
    const joined = keys.join('\n');
    if (joined === this.announced) return;
    this.announced = joined;
    this.source.update(keys);
  }
}
