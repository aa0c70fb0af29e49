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
  type Dispatcher,
  type DispatchOptions,
  type DispatchResult,
  type IncomingContext,
  type IncomingCredentials,
  InFlightLimit,
  metadataFromHeaders,
  type ServerListener,
  type WireMetadata,
} from '@resilient-rpc/core';
import { abandonedReply } from './abandoned-reply.js';
import {
  type DiscoveryResponder,
  ServiceEndpointCounters,
  type ServiceIdentityOptions,
  startDiscovery,
} from './discovery.js';
import { withIpIdentity } from './tls-identity.js';
import { validateSubject } from './url.js';

/** Options of {@link natsListener}: the subject, the queue group, and nats.js connection options. */
export interface NatsListenerOptions extends Omit<ConnectionOptions, 'servers'> {
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
  /** How long `close()` waits for replies still being written, ms. Default 5 000. */
  closeTimeoutMs?: number;
  /**
   * Requests this listener handles at once (batch entries count one each): its one broker
   * connection carries every caller, so this is its in-flight-per-connection bound. More are
   * answered -32002 Overloaded at once and never run (NATS gives the next one to another
   * instance of the queue group only if this one does not answer: a quick refusal is retried
   * elsewhere by the client). Default: no listener bound; the server's `maxInFlight` (10 000) applies.
   */
  maxInFlight?: number;
}

/** Listener defaults. */
export const NatsListenerDefaults = {
  servers: 'nats://127.0.0.1:4222',
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

interface Active {
  readonly stats: ServiceEndpointCounters;
  readonly reply: string | undefined;
  /** The request as received: read again only if the listener must abandon it at close. */
  readonly data: Uint8Array;
  readonly started: number;
  /** The reply, once the handler is done (waiting in the outbox). */
  answer: string | undefined;
  /** Why the reply counts as an error in the `$SRV` STATS, if it does. */
  failed: string | undefined;
  settled: boolean;
}

const EMPTY_METADATA: WireMetadata = Object.freeze({});
const ERROR_MARK = '"error":{"code":';

/** Why a reply counts as an error in the `$SRV` STATS, if it does. */
function errorOf(result: DispatchResult): string | undefined {
  if (result.status !== 'ok') return result.status === 'no-content' ? undefined : result.status;
  return result.body?.includes(ERROR_MARK) ? 'JSON-RPC error response' : undefined;
}

class NatsIncoming implements IncomingContext {
  readonly transport = 'nats';
  private cachedCredentials: IncomingCredentials | undefined;
  constructor(
    readonly metadata: WireMetadata,
    private readonly headerRecord: Record<string, string> | undefined,
  ) {}
  get credentials(): IncomingCredentials {
    this.cachedCredentials ??= { headers: this.headerRecord ?? {} };
    return this.cachedCredentials;
  }
}

/** Reads NATS headers once into a lower-case record (first value of each). */
function headerRecordOf(headers: MsgHdrs | undefined): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  const record: Record<string, string> = {};
  for (const [key, values] of headers) {
    const name = key.toLowerCase();
    if (record[name] === undefined && values[0] !== undefined) record[name] = values[0];
  }
  return record;
}

/**
 * A server listener on a NATS subject with a queue group: NATS spreads requests over the
 * instances; each reply goes to the request's reply subject. See docs/protocol.md, "NATS".
 */
export function natsListener(options: NatsListenerOptions): NatsServerListener {
  const {
    servers = NatsListenerDefaults.servers,
    subject,
    queue = options.subject,
    connection: existing,
    service = {},
    closeTimeoutMs = NatsListenerDefaults.closeTimeoutMs,
    maxInFlight = Number.POSITIVE_INFINITY,
    ...connectOptions
  } = options;
  validateSubject(subject);
  const serverList = Array.isArray(servers) ? servers : [servers];
  let nc: NatsConnection | undefined;
  let sub: Subscription | undefined;
  let instanceSub: Subscription | undefined;
  let instanceSubject: string | undefined;
  let instanceUrl: string | undefined;
  let discovery: DiscoveryResponder | undefined;
  let dispatcher: Dispatcher | undefined;
  // The listener's one broker connection carries every caller: its bound is per connection.
  const dispatchOptions: DispatchOptions | undefined = Number.isFinite(maxInFlight)
    ? { limit: new InFlightLimit(maxInFlight) }
    : undefined;
  let idle: Array<() => void> = [];
  const stats = new ServiceEndpointCounters();
  const instanceStats = new ServiceEndpointCounters();
  let urls: string[] = [];
  let closed: Promise<void> | undefined;

  const active = new Set<Active>();

  const onMessage = (counters: ServiceEndpointCounters, error: Error | null, msg: Msg) => {
    if (error !== null || dispatcher === undefined) return;
    const record = headerRecordOf(msg.headers);
    const metadata = record === undefined ? EMPTY_METADATA : metadataFromHeaders((name) => record[name]);
    const entry: Active = {
      stats: counters,
      reply: msg.reply,
      data: msg.data,
      started: performance.now(),
      answer: undefined,
      failed: undefined,
      settled: false,
    };
    active.add(entry);
    dispatcher.dispatch(msg.data, new NatsIncoming(metadata, record), dispatchOptions).then((result) => {
      if (entry.settled) return; // abandoned at close: an error reply already went out
      entry.failed = errorOf(result);
      if (result.body === undefined || !entry.reply) return finish(entry, entry.failed);
      // Once every request in flight has its answer, they go out now (a lone call waits no
      // event-loop turn); while others are still running, replies ready in the same turn wait
      // for the end of it and go out together: one socket write for many.
      entry.answer = result.body;
      outbox.push(entry);
      if (outbox.length === active.size) flushOutbox();
      else if (outbox.length === 1) setImmediate(flushOutbox);
    });
  };

  let outbox: Active[] = [];
  const flushOutbox = () => {
    const batch = outbox;
    outbox = [];
    for (const entry of batch) {
      if (entry.settled || entry.answer === undefined || entry.reply === undefined) continue;
      let failed = entry.failed;
      if (nc !== undefined && !nc.isClosed()) {
        try {
          // Buffer.from: a slice of Node's pool, cheaper than the TextEncoder nats.js would use.
          nc.publish(entry.reply, Buffer.from(entry.answer));
        } catch (publishError) {
          failed = `reply not sent: ${(publishError as Error).message}`;
        }
      }
      finish(entry, failed);
    }
  };

  const finish = (entry: Active, failed: string | undefined) => {
    if (entry.settled) return;
    entry.settled = true;
    active.delete(entry);
    entry.stats.record(performance.now() - entry.started, failed);
    if (active.size === 0 && idle.length > 0) {
      const waiters = idle;
      idle = [];
      for (const waiter of waiters) waiter();
    }
  };

  /**
   * The server closes without waiting (drain timed out, or close()): requests still being
   * handled get an error reply now, so callers need not wait for their deadline (over TCP the
   * socket would close; NATS has no connection to drop). Their late results are discarded.
   */
  const abandonUnfinished = () => {
    for (const entry of [...active]) {
      if (entry.answer !== undefined) continue; // its answer is ready and goes out with the outbox
      if (entry.reply && nc !== undefined && !nc.isClosed()) {
        const reply = abandonedReply(entry.data);
        if (reply !== undefined) {
          try {
            nc.publish(entry.reply, reply);
          } catch {
            // closing anyway
          }
        }
      }
      finish(entry, 'the server closed while handling the request');
    }
  };

  const waitIdle = (timeoutMs: number) =>
    active.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          idle.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });

  return {
    transport: 'nats',
    get urls() {
      return urls;
    },
    get connection() {
      return nc;
    },
    get serviceId() {
      return discovery?.id;
    },
    get serviceName() {
      return discovery?.name;
    },
    get instanceSubject() {
      return instanceSubject;
    },
    get instanceUrl() {
      return instanceUrl;
    },
    async start(d: Dispatcher) {
      if (dispatcher !== undefined) throw new Error('natsListener: already started');
      dispatcher = d;
      nc =
        existing ??
        (await connect({
          ...NatsListenerDefaults,
          ...connectOptions,
          ...(connectOptions.tls !== undefined && { tls: withIpIdentity(connectOptions.tls, serverList) }),
          servers: serverList,
        }));
      const id = nuid.next();
      instanceSubject = `${subject}.${id}`;
      sub = nc.subscribe(subject, { queue, callback: (e, msg) => onMessage(stats, e, msg) });
      // The instance's own subject, in the same queue group (it has one member): a client that
      // found this instance through discovery sends here, so that its health, breaker and
      // retries are about this process and not the whole group.
      instanceSub = nc.subscribe(instanceSubject, {
        queue,
        callback: (e, msg) => onMessage(instanceStats, e, msg),
      });
      if (service !== false) {
        discovery = startDiscovery(nc, {
          id,
          identity: service,
          subject,
          queue,
          instanceSubject,
          stats,
          instanceStats,
        });
      }
      // Make sure the broker has our subscriptions before we report ready.
      await nc.flush();
      const hosts = existing
        ? [existing.getServer()]
        : serverList.map((server) => server.replace(/^[a-z]+:\/\//i, ''));
      const scheme = serverList.some((server) => server.startsWith('tls://')) ? 'tls' : 'nats';
      urls = [`${scheme}://${hosts.join(',')}/${subject}`];
      instanceUrl = `${scheme}://${hosts.join(',')}/${instanceSubject}`;
    },
    async stopAccepting() {
      // Discovery first: clients stop finding this instance. Then UNSUB + flush: the queue group
      // and the instance subject stop sending us requests (a client still sending to the
      // instance subject gets "no responders" at once, `rejected`, and retries elsewhere); those
      // already delivered still run.
      discovery?.stop();
      if (nc === undefined || nc.isClosed()) return;
      await Promise.all(
        [sub, instanceSub].map((subscription) =>
          subscription !== undefined && !subscription.isClosed()
            ? subscription.drain().catch(() => {})
            : undefined,
        ),
      );
    },
    close() {
      closed ??= (async () => {
        if (dispatcher !== undefined && dispatcher.inFlight > 0) abandonUnfinished();
        if (outbox.length > 0) flushOutbox();
        await waitIdle(closeTimeoutMs);
        discovery?.stop();
        if (nc === undefined || nc.isClosed()) return;
        if (existing) {
          sub?.unsubscribe();
          instanceSub?.unsubscribe();
          await nc.flush().catch(() => {});
        } else {
          // drain: unsubscribes, delivers what is buffered, flushes our replies, then closes.
          await nc.drain().catch(() => {});
        }
      })();
      return closed;
    },
  };
}
