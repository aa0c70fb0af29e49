import {
  type ConnectionOptions,
  connect,
  type Msg,
  type NatsConnection,
  nuid,
  type Subscription,
} from '@nats-io/transport-node';
import {
  type ClientTransport,
  type Dispatcher,
  type DispatchOptions,
  InFlightLimit,
  type ServerListener,
} from '@resilient-rpc/core';
import {
  HeaderIncoming,
  headerRecord,
  type OptionsOf,
  positiveNumber,
  ReplyOutbox,
} from '@resilient-rpc/core/transport';
import {
  type DiscoveryResponder,
  ServiceEndpointCounters,
  type ServiceIdentityOptions,
  startDiscovery,
} from './discovery.js';
import { FramePublisher } from './publish.js';
import { parseNatsUrl, validateSubject, withIpIdentity, withSubject } from './url.js';

/** Options of {@link natsListener}: the subject, the queue group, and nats.js connection options. */
export interface NatsListenerOptions
  extends Omit<ConnectionOptions, 'servers'>,
    OptionsOf<Pick<typeof NatsListenerDefaults, 'closeTimeoutMs'>> {
  /** Broker URL(s). Default `nats://127.0.0.1:4222`. Ignored when `connection` is given. */
  servers?: string | string[];
  /** The service subject (a literal subject, no wildcards). */
  subject: string;
  /** Queue group: instances in the same group share the requests. Default: the subject. */
  queue?: string;
  /** Use this connection instead of opening one. It is left open on close (only our subscriptions end). */
  connection?: NatsConnection;
  /**
   * Answer the NATS micro-services discovery subjects (`$SRV.PING|INFO|STATS`). Default: on,
   * with a name derived from the subject. The answers name this instance's own subject, through
   * which clients reach each instance as an endpoint of its own. `false` turns discovery off:
   * clients then use the queue group only.
   */
  service?: ServiceIdentityOptions | false;
  /**
   * Requests this listener handles at once (batch entries count one each): its one broker
   * connection carries every caller, so this is its in-flight-per-connection bound. More are
   * answered -32002 Overloaded at once and never run (NATS gives the next one to another
   * instance of the queue group only if this one does not answer: a quick refusal is retried
   * elsewhere by the client). Default: no listener bound; the server's `maxInFlight` (10 000) applies.
   */
  maxInFlight?: number;
}

export const NatsListenerDefaults = {
  servers: 'nats://127.0.0.1:4222',
  /** How long `close()` waits for replies still being written (graceful: also for handlers still running), ms. */
  closeTimeoutMs: 5_000,
  /** Reconnect forever: a broker restart must not end the service. */
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  waitOnFirstConnect: false,
  name: 'resilient-rpc-server',
} as const;

/** The NATS listener, with its discovery identity once started. */
export interface NatsServerListener extends ServerListener {
  /** The NATS connection (after `start`). */
  readonly connection: NatsConnection | undefined;
  /** The micro-service id this instance answers `$SRV.*.<name>.<id>` with (after `start`). */
  readonly serviceId: string | undefined;
  /**
   * The subject only this instance subscribes (`<subject>.<instance id>`, after `start`): calls
   * published to it reach this instance and no other.
   */
  readonly instanceSubject: string | undefined;
  /** The client URL of this instance alone (its instance subject on the same servers, after `start`). */
  readonly instanceUrl: string | undefined;
  readonly serviceName: string | undefined;
}

/**
 * Server options of {@link natsTransport} that a listen URL does not carry: everything of
 * {@link NatsListenerOptions} except `servers` and `subject`, which come from the URL.
 */
export type NatsServerOptions = Omit<NatsListenerOptions, 'servers' | 'subject'>;

/** The server side of the NATS transport's options. */
export interface NatsTransportServerOptions {
  /**
   * Options of the listeners `transport.listen(url)` creates (queue group, discovery identity,
   * `maxInFlight`, nats.js connection options…); the URL gives the servers and the subject.
   * The transport's own `connection`, `user`, `pass`, `token`, `authenticator` and `tls` apply
   * to them too unless set here. Default: the {@link NatsListenerDefaults}.
   */
  server?: NatsServerOptions;
}

/** The NATS transport: a client transport that also creates listeners for listen URLs. */
export interface NatsTransport extends ClientTransport {
  /** The server side: a listener on the subject of `nats://host:port[,host2:port2]/<subject>`. */
  listen(url: string): NatsServerListener;
}

/** Connection options the client side shares with the listeners (one identity on the broker). */
const SHARED = ['connection', 'user', 'pass', 'token', 'authenticator', 'tls'] as const;

/**
 * Creates the NATS listener for a listen URL `nats://host:port[,host2:port2]/<subject>` (or
 * `tls://…`), the client's endpoint URL of the subject; `shared`: the transport's options. Throws
 * a `TypeError` for a URL that is not a NATS endpoint URL.
 */
export function listenNatsUrl(
  url: string,
  options: NatsServerOptions = {},
  shared: Pick<NatsServerOptions, (typeof SHARED)[number]> = {},
): NatsServerListener {
  const { servers, subject, scheme } = parseNatsUrl(url);
  const inherited = SHARED.filter((name) => shared[name] !== undefined).map((name) => [name, shared[name]]);
  const listenerOptions = { ...Object.fromEntries(inherited), ...options, servers: [...servers], subject };
  // A tls:// URL asks for TLS even when no TLS options were given (system CAs).
  if (scheme === 'tls' && listenerOptions.tls === undefined) listenerOptions.tls = {};
  return natsListener(listenerOptions);
}

/**
 * A server listener on a NATS subject with a queue group: NATS spreads requests over the
 * instances; each reply goes to the request's reply subject. See docs/protocol.md, "NATS".
 */
export function natsListener(options: NatsListenerOptions): NatsServerListener {
  return new NatsListener(options);
}

class NatsListener implements NatsServerListener {
  readonly transport = 'nats';
  urls: string[] = [];
  connection: NatsConnection | undefined;
  instanceSubject: string | undefined;
  instanceUrl: string | undefined;
  private subscriptions: Subscription[] = [];
  private discovery: DiscoveryResponder | undefined;
  private dispatcher: Dispatcher | undefined;
  private readonly dispatchOptions: DispatchOptions | undefined;
  /** The requests under way, by the `$SRV` counters of the subject they came on. */
  private readonly replies = new ReplyOutbox<ServiceEndpointCounters>({
    send: (reply, body) => this.publish(reply, body),
    ended: (stats, failed, started) => stats.record(performance.now() - started, failed),
    later: setImmediate,
  });
  private closed: Promise<void> | undefined;
  private publisher: FramePublisher | undefined;

  constructor(private readonly options: NatsListenerOptions) {
    validateSubject(options.subject);
    // (a timer's delay: `Infinity` would fire at once)
    const closeTimeoutMs = options.closeTimeoutMs ?? NatsListenerDefaults.closeTimeoutMs;
    positiveNumber('natsListener: closeTimeoutMs', closeTimeoutMs, { zero: true, finite: true });
    const maxInFlight = positiveNumber('natsListener: maxInFlight', options.maxInFlight ?? Infinity);
    if (Number.isFinite(maxInFlight)) this.dispatchOptions = { limit: new InFlightLimit(maxInFlight) };
  }

  get serviceId(): string | undefined {
    return this.discovery?.id;
  }

  get serviceName(): string | undefined {
    return this.discovery?.name;
  }

  async start(dispatcher: Dispatcher): Promise<void> {
    if (this.dispatcher !== undefined) throw new Error('natsListener: already started');
    this.dispatcher = dispatcher;
    const {
      servers = NatsListenerDefaults.servers,
      subject,
      queue = subject,
      connection: existing,
      service = {},
      closeTimeoutMs,
      maxInFlight,
      ...connectOptions
    } = this.options;
    const serverList = Array.isArray(servers) ? servers : [servers];
    const nc = (this.connection =
      existing ??
      (await connect({
        ...NatsListenerDefaults,
        ...connectOptions,
        tls: withIpIdentity(connectOptions.tls, serverList),
        servers: serverList,
      })));
    this.publisher = new FramePublisher(nc);
    const id = nuid.next();
    const instanceSubject = (this.instanceSubject = `${subject}.${id}`);
    const stats = new ServiceEndpointCounters();
    const instanceStats = new ServiceEndpointCounters();
    // The instance's own subject, in the same queue group (it has one member): a client that
    // found this instance through discovery sends here, so that its health, breaker and
    // retries are about this process and not the whole group.
    this.subscriptions = [
      nc.subscribe(subject, { queue, callback: (e, msg) => this.onMessage(stats, e, msg) }),
      nc.subscribe(instanceSubject, { queue, callback: (e, msg) => this.onMessage(instanceStats, e, msg) }),
    ];
    const endpoint = { id, subject, queue, instanceSubject, stats, instanceStats };
    if (service !== false) this.discovery = startDiscovery(nc, service, endpoint);
    // Make sure the broker has our subscriptions before we report ready.
    await nc.flush();
    const hosts = existing ? [existing.getServer()] : serverList.map((s) => s.replace(/^[a-z]+:\/\//i, ''));
    const url = `${serverList.some((s) => s.startsWith('tls://')) ? 'tls' : 'nats'}://${hosts.join(',')}/${subject}`;
    this.urls = [url];
    this.instanceUrl = withSubject(url, instanceSubject);
  }

  private onMessage(stats: ServiceEndpointCounters, error: Error | null, msg: Msg): void {
    if (error !== null) return;
    const dispatcher = this.dispatcher!; // (set before the subscriptions are made)
    const started = performance.now();
    const incoming = new HeaderIncoming('nats', headerRecord(msg.headers));
    // An answer ready at once (every handler returned synchronously) is published at once.
    const result =
      dispatcher.dispatchNow === undefined
        ? dispatcher.dispatch(msg.data, incoming, this.dispatchOptions)
        : dispatcher.dispatchNow(msg.data, incoming, this.dispatchOptions);
    this.replies.track(stats, msg.reply, started, msg.data, result);
  }

  /**
   * The error message if nats.js refuses the reply; none on a closed connection (the reply is
   * dropped, as nats.js would: `frame` checks that once, and throws only for it on this rare path).
   */
  private publish(subject: string, body: string): string | undefined {
    try {
      this.publisher?.frame(subject, undefined, body);
    } catch (error) {
      return this.connection?.isClosed() ? undefined : (error as Error).message;
    }
    return undefined;
  }

  async stopAccepting(): Promise<void> {
    // Discovery first: clients stop finding this instance. Then UNSUB + flush: the queue group
    // and the instance subject stop sending us requests (a client still sending to the
    // instance subject gets "no responders" at once, `rejected`, and retries elsewhere); those
    // already delivered still run.
    this.discovery?.stop();
    if (this.connection === undefined || this.connection.isClosed()) return;
    await Promise.all(
      this.subscriptions.map((sub) => (sub.isClosed() ? undefined : sub.drain().catch(() => {}))),
    );
  }

  close(closeOptions?: { readonly forced?: boolean }): Promise<void> {
    this.closed ??= (async () => {
      // Requests still being handled get an error reply (the outbox's `close`), so callers need not
      // wait for their deadline (over TCP the socket would close; NATS has no connection to drop);
      // their late results are discarded. A forced close (the server did not wait for its handlers;
      // called by hand without `forced`: while requests are being handled) does so at once; a
      // graceful one (a drain that timed out) first lets their answers out for `closeTimeoutMs`.
      const abandon = closeOptions?.forced ?? (this.dispatcher !== undefined && this.dispatcher.inFlight > 0);
      await this.replies.close(this.options.closeTimeoutMs ?? NatsListenerDefaults.closeTimeoutMs, abandon);
      if (!abandon) await this.replies.close(0, true);
      this.discovery?.stop();
      const nc = this.connection;
      if (nc === undefined || nc.isClosed()) return;
      if (this.options.connection) {
        for (const sub of this.subscriptions) sub.unsubscribe();
        await nc.flush().catch(() => {});
      } else {
        // drain: unsubscribes, delivers what is buffered, flushes our replies, then closes.
        await nc.drain().catch(() => {});
      }
    })();
    return this.closed;
  }
}
