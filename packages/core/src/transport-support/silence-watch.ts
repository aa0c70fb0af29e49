import type { Clock, TimerHandle } from '../util/clock.js';

/** Options of {@link SilenceWatch}. */
export interface SilenceWatchOptions {
  readonly clock: Clock;
  /** How often the watch looks, ms; a connection silent this long is pinged. */
  readonly intervalMs: number;
  /** A ping left unanswered (with nothing else received) this long gives the peer up, ms. */
  readonly timeoutMs: number;
  /** Sends a ping (anything the peer answers); a failure to send is the caller's to ignore. */
  readonly ping: () => void;
  /** The peer left a ping unanswered past `timeoutMs`: `silentMs` since it was last heard from. */
  readonly silent: (silentMs: number) => void;
}

/**
 * The heartbeat of one open connection, judged on a tick of its own: every `intervalMs` it pings
 * a peer nothing arrived from for a whole interval, and gives the peer up once a ping stayed
 * unanswered (and nothing else arrived) for `timeoutMs`. Whatever arrives sets {@link heard} (a
 * flag: no clock read per message); the tick reads it. A tick later than a whole interval means
 * our own event loop stalled: the silence may be ours, not the peer's, so it is judged on the
 * next tick. Used by the WebSocket client; any connection with pings of its own can use it.
 */
export class SilenceWatch {
  /** Something arrived since the last tick: set it on every message, pong or ping. */
  heard = false;
  private timer: TimerHandle | undefined;
  private lastInboundAt = 0;
  private lastTickAt = 0;
  private unansweredPingAt: number | undefined;

  constructor(private readonly options: SilenceWatchOptions) {}

  /** Starts watching (a connection just opened: heard from now). */
  start(): void {
    const now = this.options.clock.now();
    this.lastInboundAt = now;
    this.lastTickAt = now;
    this.heard = false;
    this.unansweredPingAt = undefined;
    this.schedule();
  }

  /** Stops watching (the connection is gone). */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.options.clock.setTimeout(() => {
      this.tick();
      if (this.timer !== undefined) this.schedule();
    }, this.options.intervalMs);
  }

  private tick(): void {
    const { intervalMs: interval, timeoutMs: timeout, clock } = this.options;
    const now = clock.now();
    const lag = now - this.lastTickAt - interval;
    this.lastTickAt = now;
    if (this.heard) {
      // Heard from since the last tick: on the tick's scale, that is now.
      this.heard = false;
      this.lastInboundAt = now;
      this.unansweredPingAt = undefined;
    }
    // Our own event loop stalled: the silence may be ours, not the peer's. Judge on the next tick.
    if (lag > interval) this.unansweredPingAt = undefined;
    else if (this.unansweredPingAt !== undefined && now - this.unansweredPingAt >= timeout)
      this.options.silent(now - this.lastInboundAt);
    else if (this.unansweredPingAt === undefined && now - this.lastInboundAt >= interval) {
      this.unansweredPingAt = now;
      this.options.ping();
    }
  }
}
