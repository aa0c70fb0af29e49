import type { RpcError } from '../errors/rpc-error.js';
import type { ConnectionEvent, ConnectionStatus } from '../transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ConnectionEvents } from './connection-events.js';

/** Options of {@link Reachability}. */
export interface ReachabilityOptions {
  readonly clock: Clock;
  /**
   * One health probe of the endpoint: resolves if it answered (the endpoint is reachable again),
   * rejects if not, within `timeoutMs`: `probeMaxMs`, so that a probe left unanswered holds the
   * next one back no longer than the longest pause between probes.
   */
  readonly probe: (timeoutMs: number) => Promise<unknown>;
  /** The first probe's delay after the endpoint became unreachable, ms. Default 250. */
  readonly probeMinMs?: number;
  /** The longest delay between probes (each failed one doubles it), ms. Default 5 000. */
  readonly probeMaxMs?: number;
}

/**
 * The status of a client connection with no standing link to re-open, one exchange per request
 * (HTTP; any request/response transport without a connection of its own): `open` until a request
 * cannot reach the endpoint, then `reconnecting` while health probes run in the background,
 * backing off from `probeMinMs` to `probeMaxMs`, until a probe or any request gets an answer
 * (`open` again); `closed` once {@link close}d. Reports each change to its listeners (the
 * connection's `onEvent`).
 */
export class Reachability {
  private current: ConnectionStatus = 'open';
  private timer: TimerHandle | undefined;
  private readonly events = new ConnectionEvents();
  private readonly minMs: number;
  private readonly maxMs: number;
  private delayMs: number;

  constructor(private readonly options: ReachabilityOptions) {
    this.minMs = options.probeMinMs ?? 250;
    this.maxMs = options.probeMaxMs ?? 5_000;
    this.delayMs = this.minMs;
  }

  /** The connection's status. */
  get status(): ConnectionStatus {
    return this.current;
  }

  /** The body of the connection's `onEvent`. */
  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    return this.events.add(listener);
  }

  /** An answer came (any answer): the endpoint is reachable. Once per request: cheap. */
  answered(): void {
    if (this.current === 'reconnecting') this.set('open');
    this.delayMs = this.minMs;
  }

  /**
   * A request could not reach the endpoint (`error`, of kind `not-sent`): an `open` connection
   * becomes `reconnecting` and the probes start.
   */
  unreachable(error: RpcError): void {
    if (this.current !== 'open') return;
    this.set('reconnecting', error);
    this.schedule();
  }

  /** Closes for good (stops the probes); false if it was closed already. */
  close(): boolean {
    if (this.current === 'closed') return false;
    this.set('closed');
    this.timer?.cancel();
    this.timer = undefined;
    return true;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.current !== 'reconnecting') return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.maxMs, delay * 2);
    this.timer = this.options.clock.setTimeout(() => {
      this.options.probe(this.maxMs).then(
        () => {
          this.timer = undefined;
          if (this.current === 'reconnecting') this.set('open');
        },
        () => {
          this.timer = undefined;
          this.schedule();
        },
      );
    }, delay);
  }

  private set(status: ConnectionStatus, error?: RpcError): void {
    this.current = status;
    this.events.status(status, error);
  }
}
