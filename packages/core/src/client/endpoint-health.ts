import type { FailureKind } from '../errors/rpc-error.js';
import type { EndpointState } from '../events/types.js';
import type { ConnectionStatus } from '../transport.js';

/**
 * A typed signal about one endpoint's health. The {@link EndpointHealth} state machine is the only
 * writer of an endpoint's state, and these are its only inputs:
 *
 * - `answer`: something came back from the peer (a response, a pong, connection activity);
 * - `failure`: an attempt failed with `kind` in a way that says something about the peer
 *   (`not-sent` refusals and `rejected` answers make it `down` until `until`, its local backoff);
 * - `probe`: the heartbeat's verdict (`ok` false: pings went unanswered);
 * - `stall`: calls stopped completing and a probe went unanswered too (stall suspicion);
 * - `ejection`: outlier detection ejected it, or let it back;
 * - `connection`: the transport reports its connection's status;
 * - `tick`: time passed; a refusal whose backoff ended lets the endpoint be probed again.
 */
export type HealthSignal =
  | { readonly type: 'answer' }
  | { readonly type: 'failure'; readonly kind: FailureKind; readonly until: number; readonly reason: string }
  | { readonly type: 'probe'; readonly ok: boolean; readonly reason: string }
  | { readonly type: 'stall'; readonly stalled: boolean; readonly reason: string }
  | { readonly type: 'ejection'; readonly ejected: boolean; readonly reason: string }
  | { readonly type: 'connection'; readonly status: ConnectionStatus; readonly reason: string }
  | { readonly type: 'tick'; readonly now: number };

/** The `answer` signal (shared: an answer carries nothing else). */
export const ANSWER: HealthSignal = { type: 'answer' };

/**
 * One endpoint's health: healthy → suspect (stalled) → down (connection down, heartbeat silent,
 * refused) / ejected → probing (looked better, nothing answered yet) → healthy. The state is
 * derived from the conditions the signals set, never stored apart from them.
 */
export class EndpointHealth {
  /** The current state. */
  state: EndpointState = 'healthy';
  /** Not used for new calls before this client time (a refusal's backoff or a Retry-After hint). */
  backoffUntil = 0;
  private connectionDown = false;
  private heartbeatSuspect = false;
  private stalled = false;
  private ejected = false;
  private refused = false;
  private recovering = false;
  private reason = '';

  constructor(private readonly onChange: (from: EndpointState, to: EndpointState, reason: string) => void) {}

  /** Whether the endpoint is stalled (suspect), so that stall checks can skip it. */
  get isStalled(): boolean {
    return this.stalled;
  }

  /** Feeds one signal; returns the state after it. */
  apply(signal: HealthSignal): EndpointState {
    const wasBad = this.state !== 'healthy' && this.state !== 'probing';
    switch (signal.type) {
      case 'answer':
        if (!this.stalled && !this.recovering && !this.refused) return this.state;
        this.stalled = false;
        this.refused = false;
        if (!this.connectionDown && !this.heartbeatSuspect && !this.ejected) this.recovering = false;
        this.reason = 'answered again';
        break;
      case 'failure':
        // Only refusals move the state; other failures feed the breaker and outlier detection.
        if (signal.kind !== 'not-sent' && signal.kind !== 'rejected') return this.state;
        this.backoffUntil = signal.until;
        if (this.refused) return this.state;
        this.refused = true;
        this.reason = signal.reason;
        break;
      case 'probe':
        if (this.heartbeatSuspect === !signal.ok) return this.state;
        this.heartbeatSuspect = !signal.ok;
        this.reason = signal.reason;
        break;
      case 'stall':
        if (this.stalled === signal.stalled) return this.state;
        this.stalled = signal.stalled;
        this.reason = signal.reason;
        break;
      case 'ejection':
        if (this.ejected === signal.ejected) return this.state;
        this.ejected = signal.ejected;
        this.reason = signal.reason;
        break;
      case 'connection': {
        const down = signal.status === 'closed' || signal.status === 'reconnecting';
        if (this.connectionDown === down) return this.state;
        this.connectionDown = down;
        this.reason = signal.reason;
        break;
      }
      case 'tick':
        if (!this.refused || signal.now < this.backoffUntil) return this.state;
        this.refused = false;
        this.reason = 'retrying after a refused connection';
        break;
    }
    // A condition that cleared on an endpoint that was bad: probing until something answers.
    if (wasBad && signal.type !== 'answer') this.recovering = true;
    return this.derive();
  }

  private derive(): EndpointState {
    let next: EndpointState;
    if (this.ejected) next = 'ejected';
    else if (this.connectionDown || this.heartbeatSuspect || this.refused) next = 'down';
    else if (this.stalled) next = 'suspect';
    else if (this.recovering) next = 'probing';
    else next = 'healthy';
    if (next !== this.state) {
      const from = this.state;
      this.state = next;
      this.onChange(from, next, this.reason);
    }
    return next;
  }
}
