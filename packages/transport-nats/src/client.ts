import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import {
  type ClientConnection,
  type ConnectionEvent,
  ConnectionEvents,
  type ConnectionStatus,
  type ConnectOptions,
  type DiscoverOptions,
  isNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type PingOptions,
  type RpcError,
  type SendOptions,
  type TransportCapabilities,
  type WireMetadata,
} from '@resilient-rpc/core';
import {
  type OptionsOf,
  positiveNumber,
  requestText,
  SharedPool,
  unserialisable,
} from '@resilient-rpc/core/transport';
import { discoverInstances, discoverySettings, type NatsDiscoveryOptions } from './instance-discovery.js';
import { listenNatsUrl, type NatsTransport, type NatsTransportServerOptions } from './listener.js';
import { connectionClosed } from './map-error.js';
import {
  BATCH,
  PING_REQUEST,
  type Reply,
  SharedConnection,
  type SharedConnectionOwner,
} from './shared-connection.js';
import { type NatsEndpoint, parseNatsUrl, withIpIdentity } from './url.js';
import { encodeHeaderLines, requestHeaders } from './wire-headers.js';

/** Options of {@link natsTransport}: nats.js connection options plus the transport's own. */
export interface NatsTransportOptions
  extends Omit<ConnectionOptions, 'servers'>,
    NatsTransportServerOptions,
    OptionsOf<Pick<typeof NatsTransportDefaults, 'connectWaitMs'>> {
  /**
   * Use this connection for every endpoint instead of opening one per server set (the servers in
   * endpoint URLs are then ignored). The transport never closes a connection it did not open.
   */
  connection?: NatsConnection;
  /** `ping()` also calls `rpc.ping` on the service (not only a broker round trip). Default true. */
  servicePing?: boolean;
  /**
   * Find the instances behind a service subject and use each as an endpoint of its own (see
   * {@link NatsDiscoveryOptions}). `false`: the subject (its queue group) is one endpoint.
   * Default: on, every {@link NatsDiscoveryDefaults.intervalMs} ms.
   */
  discovery?: NatsDiscoveryOptions | false;
  /**
   * Where call metadata (deadline, idempotency, attempt, trace id) travels: `'body'`, the
   * request's `meta` member (a plain PUB, no header block to encode or parse: measured the
   * cheaper of the two), or `'headers'` (`rpc-deadline-ms`, … for servers that read only
   * headers). Credentials and custom headers always go in headers. Default
   * {@link NatsTransportDefaults.metadataIn}.
   */
  metadataIn?: 'body' | 'headers';
}

/** Transport defaults that are not nats.js options (those are in `NatsClientDefaults`). */
export const NatsTransportDefaults = {
  /**
   * Longest wait of a call for a connection that is not open (first connect, reconnect) before it
   * fails `not-sent`, ms; a failed first-connect attempt fails waiting calls at once with its reason.
   */
  connectWaitMs: 2_000,
  metadataIn: 'body',
} as const;

export const natsCapabilities: TransportCapabilities = Object.freeze({
  batch: true,
  ping: true,
  persistentConnection: true,
});

/**
 * A client transport for `nats://host:port[,host2:port2]/<subject>` (and `tls://…`) endpoints.
 * Endpoints that name the same servers share one NATS connection and one reply subscription.
 */
export function natsTransport(options: NatsTransportOptions = {}): NatsTransport {
  // `server` configures listeners (`listen(url)`), not the client's nats.js connections.
  const {
    connection: existing,
    servicePing = true,
    connectWaitMs = NatsTransportDefaults.connectWaitMs,
    discovery = {},
    metadataIn = NatsTransportDefaults.metadataIn,
    server,
    ...connectOptions
  } = options;
  positiveNumber('natsTransport: connectWaitMs', connectWaitMs);
  const discoveryOptions = discovery === false ? false : discoverySettings(discovery);
  const shared = new SharedPool<SharedConnection>();
  const settings = { servicePing, metaInBody: metadataIn === 'body' };
  let closed = false;

  /** The connection of the endpoint's server set (opened by its first user, whose clock and random serve it). */
  const acquire = ({ servers, scheme, key }: NatsEndpoint, { clock, random }: ConnectOptions) =>
    shared.acquire(existing ? 'existing' : key, () => {
      const tls = connectOptions.tls === undefined && scheme === 'tls' ? {} : connectOptions.tls;
      const perServerSet = { ...connectOptions, servers: [...servers], tls: withIpIdentity(tls, servers) };
      return new SharedConnection(perServerSet, existing, { clock, random, connectWaitMs });
    });

  return {
    name: 'nats',
    schemes: ['nats', 'tls'],
    listen: (url) => listenNatsUrl(url, server, options),
    connect(url: string, connectOpts: ConnectOptions): ClientConnection {
      if (closed) throw connectionClosed(url);
      const endpoint = parseNatsUrl(url);
      // (Before the connection is acquired: an endpoint refused for its headers holds none.)
      const fixedLines = encodeHeaderLines(connectOpts.headers);
      const { value, release } = acquire(endpoint, connectOpts);
      return new NatsClientConnection(url, endpoint.subject, value, fixedLines, settings, release);
    },
    discover(url: string, discoverOpts: DiscoverOptions): () => void {
      if (closed || discoveryOptions === false) return () => {};
      const endpoint = parseNatsUrl(url);
      const { value, release } = acquire(endpoint, discoverOpts);
      return discoverInstances(url, endpoint.subject, value, discoverOpts, discoveryOptions, release);
    },
    async close() {
      closed = true;
      await shared.closeAll();
    },
  };
}

/** The request (or batch) as JSON text, `metadata` in each request's `meta` ({@link unserialisable} if it cannot be). */
function encodeRequest(
  message: JsonRpcRequest | readonly JsonRpcRequest[],
  metadata: WireMetadata | undefined,
  url: string,
): string {
  try {
    if (!isBatch(message)) return requestText(message, metadata);
    return `[${message.map((request) => requestText(request, metadata)).join(',')}]`;
  } catch (cause) {
    throw unserialisable(url, cause);
  }
}

const isBatch = (message: JsonRpcRequest | readonly JsonRpcRequest[]): message is readonly JsonRpcRequest[] =>
  Array.isArray(message);

class NatsClientConnection implements ClientConnection, SharedConnectionOwner {
  readonly capabilities = natsCapabilities;
  private readonly events = new ConnectionEvents();
  private closedLocally = false;

  constructor(
    readonly url: string,
    private readonly subject: string,
    private readonly shared: SharedConnection,
    /** The endpoint's fixed headers (its credentials) as header lines. */
    private readonly fixedLines: string,
    private readonly settings: { readonly servicePing: boolean; readonly metaInBody: boolean },
    private readonly release: () => Promise<void>,
  ) {
    shared.addOwner(this);
  }

  get status(): ConnectionStatus {
    return this.closedLocally ? 'closed' : this.shared.status;
  }

  /** The shared connection reports changes only (and none once this one is closed: no longer its owner). */
  statusChanged(status: ConnectionStatus, error?: RpcError): void {
    this.events.status(status, error);
  }

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    return this.events.add(listener);
  }

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    try {
      return this.transmit(request, options, isNotification(request)) as Promise<JsonRpcResponse | undefined>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * One error with id null for the whole batch (too large, too many entries) is passed on as it
   * is: the core gives it to every request.
   */
  async sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    return ((await this.transmit(requests, options, requests.every(isNotification))) ??
      []) as JsonRpcResponse[];
  }

  /** Publishes a request or batch; waits for the reply unless it holds only notifications. */
  private transmit(
    message: JsonRpcRequest | readonly JsonRpcRequest[],
    options: SendOptions,
    notification: boolean,
  ): Promise<Reply | undefined> {
    if (this.closedLocally) throw connectionClosed(this.url);
    const inBody = this.settings.metaInBody;
    const body = encodeRequest(message, inBody ? options.metadata : undefined, this.url);
    const headers = requestHeaders(this.fixedLines, options.headers, inBody ? undefined : options.metadata);
    const expect = notification ? undefined : isBatch(message) ? BATCH : (message.id ?? null);
    return this.shared.request(this, this.subject, body, headers, options, expect);
  }

  async ping(options: PingOptions): Promise<void> {
    if (this.closedLocally) throw connectionClosed(this.url);
    const { clock } = this.shared.settings;
    const started = clock.now();
    await this.shared.flush(this, options);
    if (!this.settings.servicePing) return;
    const left = { signal: options.signal, timeoutMs: options.timeoutMs - (clock.now() - started) };
    await this.shared.request(this, this.subject, PING_REQUEST, undefined, left, 0);
  }

  async close(): Promise<void> {
    if (this.closedLocally) return;
    this.closedLocally = true;
    this.shared.removeOwner(this);
    this.events.clear();
    await this.release();
  }
}
