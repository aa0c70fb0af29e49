import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import {
  type Clock,
  ConnectionTable,
  type Dispatcher,
  type IncomingCredentials,
  parseListenUrl,
  type ServerListener,
  systemClock,
} from '@resilient-rpc/core';
import {
  boundedVerdict,
  boundUrl,
  checkPositive,
  flattenHeaders,
  type NumberRule,
  type OptionsOf,
  PingRounds,
  withDefaults,
} from '@resilient-rpc/core/transport';
import { WebSocketServer } from 'ws';
import { CloseCodes, WsServerDefaults } from './defaults.js';
import { ServerConnection } from './server-connection.js';

/**
 * Options of {@link wsListener}. The limits, times, `host` and `path` are documented with their
 * defaults in {@link WsServerDefaults}.
 */
export interface WsListenerOptions extends OptionsOf<typeof WsServerDefaults> {
  /** Port to listen on (0: any free port). Ignored with `server`. Default 0. */
  port?: number;
  /** Attach to this existing node:http(s) server instead of listening on a port of our own. */
  server?: Server;
  /** Serve `wss://` with these Node TLS options (`key`, `cert`, …). Ignored with `server` (pass an https server). */
  tls?: HttpsServerOptions;
  /** Largest message, bytes; a bigger frame closes the connection with 1009. Default: the server's `maxMessageBytes`. */
  maxPayload?: number;
  /**
   * Checks the handshake before the upgrade. Return `true` to accept, or an HTTP status (401, 403)
   * to refuse: the socket never opens. Requests are also checked one by one by the server's
   * `authenticate` hook with the same credentials.
   */
  verifyUpgrade?: (
    credentials: IncomingCredentials,
    request: IncomingMessage,
  ) => boolean | number | Promise<boolean | number>;
}

/** A running WebSocket listener. */
export interface WsListener extends ServerListener {
  /** Open connections. */
  readonly connections: number;
  /** The node:http(s) server the listener is on (its own, or the one it was given). */
  readonly httpServer: Server | undefined;
}

/** Numeric options: counts are whole, a timer's `Infinity` would fire at once, node:http takes whole ms. */
const OPTION_RULES: ReadonlyArray<readonly [string[], NumberRule?]> = [
  [['maxConnectionsPerAddress', 'idleTimeoutMs', 'evictIdleAfterMs', 'maxBufferedBytes']],
  [['stalledReadTimeoutMs', 'verifyUpgradeTimeoutMs']],
  [['maxInFlightPerConnection', 'maxConnections'], { whole: true }],
  [['heartbeatIntervalMs'], { finite: true }],
  [['headersTimeoutMs'], { whole: true, finite: true }],
  [['closeTimeoutMs'], { zero: true, finite: true }],
];

/** A connection's `lastActiveAt` is `Date.now()`: the table measures idle time on the same scale. */
const wallClock: Clock = { now: Date.now, setTimeout: systemClock.setTimeout };

/** Creates a WebSocket server listener: `server.listen(wsListener({ port: 0 }))`. */
export function wsListener(options: WsListenerOptions = {}): WsListener {
  const o = withDefaults(WsServerDefaults, options);
  for (const [names, rule] of OPTION_RULES) checkPositive('wsListener', o, names, rule);
  const ownsServer = options.server === undefined;
  const secure = ownsServer ? options.tls !== undefined : options.server instanceof TlsServer;

  let httpServer: Server | undefined = options.server;
  let wss: WebSocketServer | undefined;
  let dispatcher: Dispatcher | undefined;
  let accepting = false;
  let stopSweep = () => {};
  // Each socket counts from its upgrade request (a pending `verifyUpgrade` included) until it
  // closes; its `data` is its connection once upgraded, which tells whether it is idle.
  const table = new ConnectionTable<Duplex, ServerConnection | undefined>({
    ...o, // maxConnections, maxConnectionsPerAddress
    clock: wallClock,
    idleSince: ({ data }) => (data!.pending > 0 ? undefined : data!.lastActiveAt),
  });
  const connections = function* () {
    for (const { data } of table.values()) if (data !== undefined) yield data;
  };
  /** Upgrades whose `verifyUpgrade` has not settled yet. */
  let upgrading = 0;
  /** Who makes room when the listener is full: the connection idle longest, if idle `evictIdleAfterMs`. */
  const idlest = () => table.first('idle', o.evictIdleAfterMs);
  const victims = [idlest];
  /** Closes a connection with 1001 (its socket goes once the close handshake ends, or after `waitMs`). */
  const goAway = (connection: ServerConnection | undefined, reason: string, waitMs = o.closeTimeoutMs) =>
    connection?.close(CloseCodes.GoingAway, reason, waitMs);

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((request.url ?? '/').split('?', 1)[0] !== o.path) {
      // On a shared server another handler may own this path; on our own server nobody does.
      if (ownsServer || httpServer?.listenerCount('upgrade') === 1) refuse(socket, 404);
      return;
    }
    // Node removed its socket error handler before 'upgrade': a reset while we refuse or verify
    // would be an uncaught 'error' that ends the process (ws adds its own once it takes the socket).
    guard(socket);
    if (!accepting || wss === undefined) return refuse(socket, 503, 'server is shutting down');
    const remoteAddress = (request.socket as Socket).remoteAddress;
    const entry = table.add(socket, remoteAddress ?? '', undefined);
    // Its connection's own 'close' comes after this one (ws listens on the socket after us).
    socket.once('close', () => table.delete(entry));
    const { verifyUpgrade } = options;
    // Full: only an upgrade that evicts an idle connection goes on, after the verdict (an unverified
    // client evicts nobody); it waits only while one could be evicted, and at most maxConnections wait.
    if (verifyUpgrade && table.over && (upgrading >= o.maxConnections || idlest() === undefined))
      entry.refusal ??= 'too many connections';
    const credentials: IncomingCredentials = { headers: flattenHeaders(request.headers) };
    const upgrade = () => {
      if (!accepting || wss === undefined) return refuse(socket, 503, 'server is shutting down');
      // The evicted connection's slot is free now; its socket goes once the close handshake ends.
      goAway(table.makeRoom(entry, victims)?.data, 'evicted: the server is full and this connection is idle');
      if (entry.refusal !== undefined) {
        table.delete(entry);
        return refuse(socket, 503, entry.refusal);
      }
      // Its callback runs within handleUpgrade (no verifyClient): still accepting, dispatcher set.
      wss.handleUpgrade(request, socket, head, (ws) => {
        entry.data = new ServerConnection(ws, o, dispatcher!, credentials, remoteAddress);
        table.idle(entry);
      });
    };
    if (verifyUpgrade === undefined || entry.refusal !== undefined) return upgrade();
    // A pending check holds a socket: it counts against maxConnections, and is bounded in time.
    upgrading++;
    const verify = () => verifyUpgrade(credentials, request);
    boundedVerdict(verify, o.verifyUpgradeTimeoutMs, (outcome) => {
      upgrading--;
      if (socket.destroyed) return;
      if (outcome === 'timed out') return refuse(socket, 503, 'the upgrade check timed out');
      const verdict = 'value' in outcome ? outcome.value : false;
      if (verdict === true) return upgrade();
      refuse(socket, typeof verdict === 'number' ? verdict : 401);
    });
  };

  // Rounds judged after the next I/O poll (setImmediate), which reads pongs that arrived while we stalled.
  const heartbeat = new PingRounds({
    intervalMs: o.heartbeatIntervalMs,
    peers: connections,
    defer: (round) => setImmediate(round),
  });

  return {
    transport: 'ws',
    async start(given) {
      if (dispatcher) throw new Error('wsListener: already started');
      dispatcher = given;
      wss = new WebSocketServer({
        noServer: true,
        maxPayload: options.maxPayload ?? given.limits.maxMessageBytes,
        perMessageDeflate: false,
        clientTracking: false,
      });
      if (httpServer === undefined) {
        const serverOptions = {
          headersTimeout: o.headersTimeoutMs,
          requestTimeout: Math.max(o.headersTimeoutMs, 30_000),
          connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(o.headersTimeoutMs / 2))),
        };
        httpServer = options.tls
          ? createHttpsServer({ ...options.tls, ...serverOptions })
          : createHttpServer(serverOptions);
        httpServer.on('request', (_request, response) => {
          response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
          response.end('Upgrade Required: this endpoint speaks JSON-RPC over WebSocket');
        });
        httpServer.listen(options.port ?? 0, o.host);
        await once(httpServer, 'listening'); // rejects on 'error' (a port in use)
      }
      httpServer.on('upgrade', onUpgrade);
      heartbeat.start();
      stopSweep = table.sweep('idle', o.idleTimeoutMs, ({ data }) => goAway(data, 'idle timeout'));
      accepting = true;
    },
    get urls() {
      const info = httpServer?.address();
      if (!info || typeof info === 'string') return [];
      return [boundUrl(secure ? 'wss' : 'ws', ownsServer ? o.host : info.address, info.port, o.path)];
    },
    async stopAccepting() {
      // Upgrades get 503 (safe to retry elsewhere). The port stays open until close(): closing it
      // resets the connections queued in the kernel, which a client cannot tell from lost ones.
      accepting = false;
    },
    async close(closeOptions) {
      accepting = false;
      heartbeat.stop();
      stopSweep();
      // Handlers finished or were aborted: clients see 1001 and fail what is pending. Forced (no
      // answers to wait for): cut once the 1001 is written, not waiting for the client's answer.
      const open = [...connections()];
      for (const connection of open)
        goAway(connection, 'server shutting down', closeOptions?.forced ? 0 : undefined);
      await Promise.all(open.map((connection) => connection.closed));
      wss?.close();
      const server = ownsServer ? httpServer : undefined;
      if (server?.listening) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      // Only now: until here an upgrade is refused 503 (shutting down); without a listener node:http
      // would answer it as a plain request, 426 Upgrade Required.
      httpServer?.off('upgrade', onUpgrade);
    },
    get connections() {
      return [...connections()].length;
    },
    get httpServer() {
      return httpServer;
    },
  };
}

/** A socket error after the upgrade request is only a reason to let the socket go. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** Makes sure an error on a socket handed to us by 'upgrade' cannot be unhandled. */
function guard(socket: Duplex): void {
  if (!socket.listeners('error').includes(destroyOnError)) socket.on('error', destroyOnError);
}

/** Refuses an upgrade with a plain HTTP response and closes the socket. */
function refuse(socket: Duplex, status: number, message?: string): void {
  guard(socket);
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const text = STATUS_CODES[status] ?? 'Error';
  const body = message ?? text;
  // node:http allows half-open sockets: a client that never closes its side would keep this one.
  socket.once('finish', destroyOnError);
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Server options of {@link wsTransport} that a listen URL does not carry: everything of
 * {@link WsListenerOptions} except `port`, `host` and `path` (from the URL) and `server` (a
 * listener made from a URL has a port of its own; use `wsListener({ server })` to share one).
 */
export type WsServerOptions = Omit<WsListenerOptions, 'port' | 'host' | 'path' | 'server'>;

/** The server side of the WebSocket transport's options. */
export interface WsTransportServerOptions {
  /**
   * Options of the listeners `transport.listen(url)` creates (limits, heartbeat, `tls` for
   * `wss://` URLs, `verifyUpgrade`…); the URL gives host, port and path. Default: the
   * {@link WsServerDefaults}.
   */
  server?: WsServerOptions;
}

/**
 * Creates the WebSocket listener for a listen URL: `ws://host:port/path` or `wss://host:port/path`
 * (the latter needs `server.tls`). Host `0.0.0.0` (or `[::]`) binds every interface; port `0`
 * picks a free one (read the real one from `listener.urls` after start); the URL's path is the
 * upgrade path, so the listen URL and the client's endpoint URL are the same. A missing port is
 * the scheme's default (80, 443). Throws a `TypeError` for anything else.
 */
export function listenWsUrl(url: string, options: WsServerOptions = {}): WsListener {
  const form = { transport: 'WebSocket', schemes: ['ws', 'wss'], factory: 'wsTransport' } as const;
  const { host, port, path } = parseListenUrl(url, { ...form, tls: options.tls !== undefined });
  return wsListener({ ...options, host, port, path });
}
