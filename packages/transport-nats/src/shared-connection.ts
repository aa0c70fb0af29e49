import {
  type ConnectionOptions,
  connect,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  nuid,
  type Subscription,
} from '@nats-io/transport-node';
import {
  type Clock,
  type ConnectionStatus,
  type JsonRpcId,
  type JsonRpcResponse,
  PendingCalls,
  parseResponseText,
  type Random,
  type RpcError,
  type TimerHandle,
} from '@resilient-rpc/core';
import { aborted, type CallBounds, OpenWait, ReplyTokens, withDefaults } from '@resilient-rpc/core/transport';
import * as errors from './map-error.js';
import { FramePublisher } from './publish.js';

/** Defaults applied to every connection the transport opens (override any of them in the options). */
export const NatsClientDefaults = {
  /**
   * Keep trying the first connect instead of failing at once (a broker that starts late is
   * fine). The transport runs this loop itself (one nats.js attempt at a time, `reconnectTimeWait`
   * plus jitter apart) so that closing the transport cancels it.
   */
  waitOnFirstConnect: true,
  /** Reconnect forever: the endpoint goes `reconnecting`, the core routes around it meanwhile. */
  maxReconnectAttempts: -1,
  /** Wait before retrying the same server, ms (other servers of the cluster are tried at once). */
  reconnectTimeWait: 250,
  reconnectJitter: 100,
  reconnectJitterTLS: 250,
  /** Connect (dial + handshake) timeout, ms. */
  timeout: 2_000,
  /** Client ping to the broker, ms; with `maxPingOut` 2 a dead broker is noticed within ~10–15 s. */
  pingInterval: 5_000,
  maxPingOut: 2,
  /** We do not use nats.js's request(): no async stack capture. */
  noAsyncTraces: true,
  name: 'resilient-rpc',
} as const satisfies ConnectionOptions;

/** What the shared connection tells the endpoint connections (and discovery) that use it. */
export interface SharedConnectionOwner {
  readonly url: string;
  statusChanged(status: ConnectionStatus, error?: RpcError): void;
  /** The broker answered "no responders" to a request to `subject` (discovery: an instance left). */
  noResponders?(subject: string): void;
}

/** `rpc.ping`: any JSON-RPC answer proves a live service (a foreign server may lack the method). */
export const PING_REQUEST = '{"jsonrpc":"2.0","id":0,"method":"rpc.ping"}';

/** What a request expects back: the response to the request with this id, or a batch's array. */
export const BATCH = Symbol('batch');
/** A ping's round trip to the broker (a flush), waiting in the same table as the requests. */
const FLUSH = Symbol('flush');
type Expect = JsonRpcId | typeof BATCH | typeof FLUSH;
export type Reply = JsonRpcResponse | JsonRpcResponse[];
interface RequestContext {
  readonly owner: SharedConnectionOwner;
  readonly subject: string;
  readonly expect: Expect;
  /** The reply token served an earlier request (answered) before this one. */
  readonly reused: boolean;
}

const decoder = new TextDecoder();
const SENT = Promise.resolve(undefined);

/** `PendingCalls`' `watchSignalAfterMs`: most calls are answered sooner and never make their signal. */
const WATCH_SIGNAL_AFTER_MS = 50;

/**
 * One NATS connection shared by every endpoint with the same server set (ref-counted), with a
 * single wildcard reply subscription: each request gets a token on it, replies are matched in a map.
 */
export class SharedConnection {
  status: ConnectionStatus = 'connecting';
  private nc: NatsConnection | undefined;
  private publisher: FramePublisher | undefined;
  private sub: Subscription | undefined;
  private readonly pending: PendingCalls<string, Reply | undefined, RequestContext>;
  private readonly tokens = new ReplyTokens<Msg>();
  private readonly owners = new Set<SharedConnectionOwner>();
  private readonly openWait: OpenWait;
  private replyPrefix = '';
  private closing = false;
  /** The last connect attempt, with the closing of a connection that opened too late (`close()` awaits it). */
  private attempt: Promise<unknown> | undefined;
  private retryTimer: TimerHandle | undefined;
  private lastConnectError: RpcError | undefined;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly existing: NatsConnection | undefined,
    readonly settings: { readonly clock: Clock; readonly random: Random; readonly connectWaitMs: number },
  ) {
    this.pending = new PendingCalls(
      settings.clock,
      {
        timeout: ({ context: { owner, subject, expect }, timeoutMs }) =>
          expect === FLUSH
            ? errors.pingTimedOut(owner.url, timeoutMs)
            : errors.replyTimedOut(subject, timeoutMs, owner.url),
        aborted: ({ context: { owner, expect } }) =>
          expect === FLUSH ? errors.pingTimedOut(owner.url) : aborted(owner.url, true),
      },
      { watchSignalAfterMs: WATCH_SIGNAL_AFTER_MS },
    );
    this.openWait = new OpenWait(settings.clock);
    if (existing) this.opened(existing);
    else this.connectOnce();
  }

  /**
   * One nats.js attempt over the server list; on failure the waiting calls fail with its reason and
   * (`waitOnFirstConnect`) the next one is scheduled on the injected clock, so `close()` cancels it.
   */
  private connectOnce(): void {
    if (this.closing) return;
    const { options } = this;
    const timing = withDefaults(NatsClientDefaults, options);
    const jitterMs = options.tls ? timing.reconnectJitterTLS : timing.reconnectJitter;
    const delayMs = () => timing.reconnectTimeWait + Math.floor(this.settings.random() * (jitterMs + 1));
    // (Spread, not `timing`: `tls: null` is an option of its own, no TLS even if offered.)
    this.attempt = connect({
      ...NatsClientDefaults,
      reconnectDelayHandler: delayMs,
      ...options,
      waitOnFirstConnect: false,
    }).then(
      (nc) => (this.closing ? nc.close().catch(() => {}) : this.opened(nc)),
      (error: unknown) => {
        const reason = (this.lastConnectError = errors.connectFailed(error));
        this.openWait.wake(reason);
        if (this.closing) return;
        if (timing.waitOnFirstConnect === false) this.setStatus('closed', reason);
        else this.retryTimer = this.settings.clock.setTimeout(() => this.connectOnce(), delayMs());
      },
    );
  }

  addOwner(owner: SharedConnectionOwner): void {
    this.owners.add(owner);
  }

  removeOwner(owner: SharedConnectionOwner): void {
    this.owners.delete(owner);
    const error = errors.closedLocally(owner.url, 'connection');
    this.pending.rejectAll(
      () => error,
      (call) => call.context.owner === owner,
    );
  }

  private opened(nc: NatsConnection): void {
    this.nc = nc;
    this.publisher = new FramePublisher(nc);
    this.lastConnectError = undefined;
    this.replyPrefix = `${this.options.inboxPrefix ?? '_INBOX'}.${nuid.next()}.`;
    this.sub = nc.subscribe(`${this.replyPrefix}*`, { callback: (error, msg) => this.onReply(error, msg) });
    void this.watchStatus(nc);
    void nc.closed().then((error) => {
      this.setStatus('closed', errors.connectionEnded(undefined, error));
      this.pending.rejectAll((call) => errors.connectionEnded(call.context.owner.url, error));
      this.openWait.wake(errors.connectionClosed(undefined));
    });
    this.setStatus('open');
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        // nats.js discards what it had not written yet and replies cannot come back on this
        // socket: every request in flight now is lost as far as we can tell.
        this.setStatus('reconnecting', errors.disconnected(status.server));
        this.pending.rejectAll((call) => errors.disconnected(status.server, call.context.owner.url));
      } else if (status.type === 'reconnecting' || status.type === 'staleConnection') {
        if (this.status === 'open') this.setStatus('reconnecting');
      } else if (status.type === 'reconnect') this.setStatus('open');
    }
  }

  /** Tells the owners; an `open` connection also wakes the calls waiting for it. */
  private setStatus(status: ConnectionStatus, error?: RpcError): void {
    if (this.status !== status && this.status !== 'closed') {
      this.status = status;
      for (const owner of this.owners) owner.statusChanged(status, error);
    }
    if (status === 'open') this.openWait.wake();
  }

  /** Runs `then` once the connection is open (see {@link OpenWait}), with what is left of the call's time. */
  private async whenOpen<T>(
    url: string,
    bounds: CallBounds,
    then: (left: CallBounds) => Promise<T>,
  ): Promise<T> {
    if (this.status === 'closed' || this.closing) throw errors.connectionClosed(url, this.lastConnectError);
    const left = await this.openWait.wait(bounds, this.settings.connectWaitMs, {
      aborted: () => aborted(url, false),
      notOpenInTime: (waitMs) => errors.notOpenInTime(url, waitMs, this.status, this.lastConnectError),
      failed: (error) => errors.forEndpoint(error, url),
    });
    if (this.status !== 'open') throw errors.connectionClosed(url);
    return then(left);
  }

  /**
   * Publishes `body` (JSON text) to `subject` and waits for the reply on the shared inbox (none for a
   * notification, `expect` undefined). Rejects only with the RpcErrors of map-error.ts.
   */
  request(
    owner: SharedConnectionOwner,
    subject: string,
    body: string,
    headers: MsgHdrs | undefined,
    bounds: CallBounds,
    expect: Expect | undefined,
  ): Promise<Reply | undefined> {
    const publisher = this.publisher;
    if (this.status !== 'open' || publisher === undefined)
      return this.whenOpen(owner.url, bounds, (left) =>
        this.request(owner, subject, body, headers, left, expect),
      );
    let token: string | undefined;
    let sent: Promise<Reply | undefined> = SENT;
    if (expect !== undefined) {
      // A batch gets a token of its own (a duplicate batch reply could not be told from its answer).
      const free = expect === BATCH ? undefined : this.tokens.reuse();
      const call = (token = free ?? this.tokens.fresh());
      sent = new Promise((resolve, reject) => {
        const context: RequestContext = { owner, subject, expect, reused: free !== undefined };
        this.pending.add(call, context, Math.max(1, bounds.timeoutMs), bounds, resolve, reject);
      });
    }
    try {
      publisher.frame(subject, token === undefined ? undefined : this.replyPrefix + token, body, headers);
    } catch (error) {
      if (token === undefined) return Promise.reject(errors.publishFailed(error, owner.url));
      this.pending.reject(token, errors.publishFailed(error, owner.url));
    }
    return sent;
  }

  /**
   * Publishes `payload` (if the connection is open: false when it is not) with a reply subject of
   * this connection that stays valid until `stop()`: every message sent to it goes to `listener`
   * (the answers of every instance to a discovery request).
   */
  replySubject(listener: (msg: Msg) => void): {
    send(subject: string, payload: string): boolean;
    stop(): void;
  } {
    const { token, stop } = this.tokens.listen(listener);
    return {
      send: (subject, payload) => {
        const publisher = this.publisher;
        if (publisher === undefined || this.status !== 'open') return false;
        try {
          publisher.frame(subject, this.replyPrefix + token, payload);
          return true;
        } catch {
          return false;
        }
      },
      stop,
    };
  }

  /** Round trip to the broker (PING/PONG), bounded by `timeoutMs` and `signal`. */
  flush(owner: SharedConnectionOwner, bounds: CallBounds): Promise<void> {
    const nc = this.nc;
    if (this.status !== 'open' || nc === undefined)
      return this.whenOpen(owner.url, bounds, (left) => this.flush(owner, left));
    // A token with a space: no message can arrive on it (a subject has no whitespace).
    const token = ` ping ${this.tokens.fresh()}`;
    return new Promise((resolve, reject) => {
      const context: RequestContext = { owner, subject: '', expect: FLUSH, reused: false };
      this.pending.add(token, context, Math.max(1, bounds.timeoutMs), bounds.signal, () => resolve(), reject);
      nc.flush().then(
        () => this.pending.resolve(token, undefined),
        (error: unknown) => this.pending.reject(token, errors.pingFailed(error, owner.url)),
      );
    });
  }

  private onReply(error: Error | null, msg: Msg): void {
    if (error !== null) return; // the subscription's own failure surfaces through the connection status
    const token = msg.subject.slice(this.replyPrefix.length);
    const call = this.pending.get(token);
    if (call === undefined) {
      this.tokens.deliver(token, msg); // a discovery answer, or a late reply to a settled request
      return;
    }
    const { context } = call; // (the table clears a call it settles)
    // An answered request's token may serve the next request (a batch's is not reused).
    if (this.settle(token, context, msg) && context.expect !== BATCH) this.tokens.release(token);
  }

  /** Settles the request of `token` with its reply; false for a stray reply (left waiting). */
  private settle(token: string, { owner, subject, expect, reused }: RequestContext, msg: Msg): boolean {
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      this.pending.reject(token, errors.noResponders(owner.url));
      for (const other of this.owners) other.noResponders?.(subject);
      return true;
    }
    let parsed: Reply;
    try {
      parsed = parseResponseText(decoder.decode(msg.data));
    } catch (cause) {
      this.pending.reject(
        token,
        errors.badReply(owner.url, msg.data.length === 0 ? 'empty' : 'malformed', cause),
      );
      return true;
    }
    if (expect === BATCH) this.pending.resolve(token, Array.isArray(parsed) ? parsed : [parsed]);
    else if (Array.isArray(parsed))
      this.pending.reject(token, errors.badReply(owner.url, 'batch-for-single'));
    // A second reply to the token's earlier request (two responders without a queue group).
    else if (reused && parsed.id !== null && parsed.id !== expect) return false;
    // (An error the server could not tie to an id, too large or not JSON, answers this request:
    // the core gives an id-less error to the call it reaches.)
    else this.pending.resolve(token, parsed);
    return true;
  }

  /**
   * Stops everything (pending calls settle `connection-lost`): nothing of ours keeps the process
   * alive afterwards, and no further connection attempt is made.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.retryTimer?.cancel();
    this.tokens.clear();
    this.pending.rejectAll((call) => errors.closedLocally(call.context.owner.url, 'transport'));
    this.openWait.wake(errors.connectionClosed(undefined));
    this.sub?.unsubscribe();
    // An attempt under way ends within nats.js's connect `timeout`; its connection, if it opens, is
    // closed by the attempt's own handler (closing is set).
    await this.attempt?.catch(() => {});
    if (this.existing) return;
    if (this.nc !== undefined && !this.nc.isClosed()) await this.nc.close().catch(() => {});
    this.setStatus('closed');
  }
}
