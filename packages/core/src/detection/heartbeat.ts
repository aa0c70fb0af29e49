import type { Clock } from '../util/clock.js';
import type { PhiAccrualOptions } from './phi-accrual.js';

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

/**
 * One endpoint's heartbeat: every `intervalMs` it calls `ping` (the transport's ping or
 * `rpc.ping`), feeds every answer and every other sign of life (`alive()`) into a phi-accrual
 * detector, counts consecutive misses, and reports verdict changes. A timer that fires late by
 * more than `stallToleranceMs` is our own stall: the gap is excused, not held against the peer.
 */
export class HeartbeatMonitor {
  constructor(
    ping: (signal: AbortSignal, timeoutMs: number) => Promise<void>,
    onVerdict: (verdict: HeartbeatVerdict) => void,
    options?: Partial<HeartbeatOptions>,
    clock?: Clock,
  ) {
    throw new Error('TODO');
  }
  start(): void {}
  stop(): void {}
  /** Any inbound traffic from the peer (a response, a pong): counts as a heartbeat. */
  alive(): void {}
  /** The current verdict. */
  verdict(): HeartbeatVerdict {
    return { suspect: false, phi: 0, missed: 0, reason: '' };
  }
}
