import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';

/** A connection {@link PingRounds} judges. */
export interface PingedPeer {
  /** Heard from (a pong or anything) since the last round; each round clears it. */
  alive: boolean;
  /** Not being read (write backpressure): its pongs cannot arrive, a timeout of its own judges it. */
  readonly stalled: boolean;
  /** Sends a ping; a failure to send (closing already) is the caller's to ignore. */
  ping(): void;
  /** Cuts the connection off: it left the last round's ping unanswered. */
  terminate(): void;
}

/** Options of {@link PingRounds}. */
export interface PingRoundsOptions<Peer extends PingedPeer> {
  /** Time between rounds, ms; a peer silent for a whole round after a ping is cut off. */
  readonly intervalMs: number;
  /** The connections open now. */
  readonly peers: () => Iterable<Peer>;
  /**
   * Runs a round once this process has read its sockets (Node: `setImmediate`). Default: at once.
   * When the process itself stalled past the round (a long GC pause, a starved CPU), the timer
   * fires before the sockets are read, and a pong that arrived meanwhile would wait unread while
   * its client is cut off for not answering.
   */
  readonly defer?: (round: () => void) => void;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * A server's heartbeat over all its connections, one timer for all: every `intervalMs` each
 * connection not heard from since the last round is cut off, and every other one is pinged and
 * its `alive` flag cleared (a flag set on arrival: no clock read per message). Used by the
 * WebSocket listener; any listener of connections that answer pings of their own can use it.
 */
export class PingRounds<Peer extends PingedPeer> {
  private timer: TimerHandle | undefined;
  private judging = false;

  constructor(private readonly options: PingRoundsOptions<Peer>) {}

  start(): void {
    const { clock = systemClock, intervalMs, defer } = this.options;
    this.timer = clock.setTimeout(() => {
      this.start();
      if (this.judging) return;
      this.judging = true;
      if (defer === undefined) this.round();
      else defer(this.round);
    }, intervalMs);
  }

  /** No more rounds (a round deferred already does nothing). */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private readonly round = (): void => {
    this.judging = false;
    if (this.timer === undefined) return;
    for (const peer of this.options.peers()) {
      if (peer.stalled) continue;
      if (!peer.alive) {
        peer.terminate();
        continue;
      }
      peer.alive = false;
      try {
        peer.ping();
      } catch {
        // closing already
      }
    }
  };
}

/**
 * A server connection's activity, for {@link PingRounds} (`alive`) and for its listener's idle
 * judgement (`lastActiveAt`, e.g. a `ConnectionTable`'s `idleSince`), kept in flags so that a
 * message costs no clock read. A connection class extends it and sets `heard` on whatever
 * arrives (pongs too) and `touched` on activity (a message, its last reply written; not a pong:
 * idle clients answer pings). Used by the WebSocket listener's connections.
 */
export class PeerActivity {
  /** Answered a ping (or sent anything) since the last heartbeat round. */
  protected heard = true;
  /** Active since {@link lastActiveAt} was last read (a flag: no clock read per message). */
  protected touched = false;
  /** {@link lastActiveAt} as last read. */
  private activeAt: number;

  /** @param now The scale of {@link lastActiveAt} (the listener's idle clock). */
  constructor(private readonly now: () => number = Date.now) {
    this.activeAt = now();
  }

  /** Answered a ping (or sent anything) since the last heartbeat round. */
  get alive(): boolean {
    return this.heard;
  }

  /** The heartbeat round clears it: {@link lastActiveAt} is taken then too (see there). */
  set alive(value: boolean) {
    this.heard = value;
    if (!value) this.stamp();
  }

  /**
   * When the connection was last active (on the `now` scale): a message arrived or its last
   * reply was written. Pongs do not count: idle clients answer pings. Activity only raises a flag
   * (no clock read per message): its time is taken when this is next read (an idle sweep) or at
   * the next heartbeat round, whichever comes first, so that a connection counts as active a
   * little longer than it was, never shorter.
   */
  get lastActiveAt(): number {
    this.stamp();
    return this.activeAt;
  }

  /** Takes the time of the activity since the last read, if there was any. */
  private stamp(): void {
    if (!this.touched) return;
    this.touched = false;
    this.activeAt = this.now();
  }
}
