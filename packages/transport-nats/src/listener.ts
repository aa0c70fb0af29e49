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
  type IncomingContext,
  type IncomingCredentials,
  metadataFromHeaders,
  type ServerListener,
  type WireMetadata,
} from '@resilient-rpc/core';
import {
  type DiscoveryResponder,
  EndpointStats,
  type ServiceIdentityOptions,
  startDiscovery,
} from './discovery.js';
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
   * with a name derived from the subject. `false` turns discovery off.
   */
  service?: ServiceIdentityOptions | false;
  /** How long `close()` waits for replies still being written, ms. Default 5 000. */
  closeTimeoutMs?: number;
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
  readonly serviceName: string | undefined;
}

const decoder = new TextDecoder();
const ERROR_MARK = '"error":{"code":';

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
    ...connectOptions
  } = options;
  validateSubject(subject);
  const serverList = Array.isArray(servers) ? servers : [servers];
  let nc: NatsConnection | undefined;
  let sub: Subscription | undefined;
  let discovery: DiscoveryResponder | undefined;
  let dispatcher: Dispatcher | undefined;
  let inFlight = 0;
  let idle: Array<() => void> = [];
  const stats = new EndpointStats();
  let urls: string[] = [];
  let closed: Promise<void> | undefined;

  const onMessage = (error: Error | null, msg: Msg) => {
    if (error !== null || dispatcher === undefined) return;
    const reply = msg.reply;
    const text = decoder.decode(msg.data);
    const record = headerRecordOf(msg.headers);
    const metadata = record === undefined ? {} : metadataFromHeaders((name) => record[name]);
    const started = performance.now();
    inFlight++;
    dispatcher.handleText(text, new NatsIncoming(metadata, record)).then(
      (out) => {
        if (out !== undefined && reply) {
          // Replies produced in the same turn go out together: one socket write for many.
          if (outbox.length === 0) setImmediate(flushOutbox);
          outbox.push({ reply, out, started });
        } else {
          finish(started, out?.includes(ERROR_MARK) ? 'JSON-RPC error response' : undefined);
        }
      },
      (dispatchError: unknown) => finish(started, String(dispatchError)),
    );
  };

  let outbox: Array<{ reply: string; out: string; started: number }> = [];
  const flushOutbox = () => {
    const batch = outbox;
    outbox = [];
    for (const { reply, out, started } of batch) {
      let failed: string | undefined = out.includes(ERROR_MARK) ? 'JSON-RPC error response' : undefined;
      if (nc !== undefined && !nc.isClosed()) {
        try {
          nc.publish(reply, out);
        } catch (publishError) {
          failed = `reply not sent: ${(publishError as Error).message}`;
        }
      }
      finish(started, failed);
    }
  };

  const finish = (started: number, failed: string | undefined) => {
    stats.record(performance.now() - started, failed);
    inFlight--;
    if (inFlight === 0 && idle.length > 0) {
      const waiters = idle;
      idle = [];
      for (const waiter of waiters) waiter();
    }
  };

  const waitIdle = (timeoutMs: number) =>
    inFlight === 0
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
    async start(d: Dispatcher) {
      if (dispatcher !== undefined) throw new Error('natsListener: already started');
      dispatcher = d;
      nc =
        existing ??
        (await connect({
          ...NatsListenerDefaults,
          ...connectOptions,
          servers: serverList,
        }));
      sub = nc.subscribe(subject, { queue, callback: onMessage });
      if (service !== false) {
        discovery = startDiscovery(nc, { id: nuid.next(), identity: service, subject, queue, stats });
      }
      // Make sure the broker has our subscriptions before we report ready.
      await nc.flush();
      const hosts = existing
        ? [existing.getServer()]
        : serverList.map((server) => server.replace(/^[a-z]+:\/\//i, ''));
      const scheme = serverList.some((server) => server.startsWith('tls://')) ? 'tls' : 'nats';
      urls = [`${scheme}://${hosts.join(',')}/${subject}`];
    },
    async stopAccepting() {
      // UNSUB + flush: the queue group stops sending us requests; ones already delivered still run.
      if (sub !== undefined && !sub.isClosed() && nc !== undefined && !nc.isClosed()) {
        await sub.drain().catch(() => {});
      }
    },
    close() {
      closed ??= (async () => {
        await waitIdle(closeTimeoutMs);
        discovery?.stop();
        if (nc === undefined || nc.isClosed()) return;
        if (existing) {
          sub?.unsubscribe();
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
