import { once } from 'node:events';
import { createServer as createHttpServer, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import { type AddressInfo, connect, Server as NetServer, type Socket } from 'node:net';
import { type Dispatcher, ErrorCodes, parseListenUrl, type ServerListener } from '@resilient-rpc/core';
import { Answering, boundUrl, checkPositive, QuietWait, withDefaults } from '@resilient-rpc/core/transport';
import { ConnectionGuard } from './connection-guard.js';
import { HttpServerDefaults } from './defaults.js';
import { buildHandler, type HttpHandlerOptions, Responder, type ServerOptionsOf } from './http-handler.js';

/** Options of {@link httpListener}: {@link createHttpHandler}'s and those of {@link HttpServerDefaults}. */
export interface HttpListenerOptions
  extends HttpHandlerOptions,
    Omit<ServerOptionsOf, keyof HttpHandlerOptions | 'connectionsCheckingIntervalMs'> {
  /** TCP port; 0 picks a free one (read it from `urls` after start). Default 0. */
  readonly port?: number;
  /** Serve https with these Node TLS options (`key`, `cert`, `ca`, `requestCert`…). */
  readonly tls?: HttpsServerOptions;
}

/** The listener, with the node:http server once started. */
export interface HttpListener extends ServerListener {
  /** The underlying server (after `start`). */
  readonly server: Server | undefined;
  /** The bound port (after `start`). */
  readonly port: number | undefined;
}

/** How long a graceful close() waits for connections without a request yet and for answers, ms. */
const CLOSE_GRACE_MS = 1_000;
/** A connection past maxConnections that sends no request within this long is closed, ms. */
const OVER_LIMIT_GRACE_MS = 1_000;

/**
 * A standalone node:http (or https, with `tls`) server for a resilient-rpc server:
 * `server.listen(httpListener({ port: 0 }))`.
 */
export function httpListener(options: HttpListenerOptions = {}): HttpListener {
  const o = withDefaults(HttpServerDefaults, options);
  // Limits (`Infinity`: none), then node:http's timeouts and sizes and the Retry-After seconds
  // (whole, finite); 0 where the defaults say what it means.
  const check = (names: string, zero: boolean, finite: boolean) =>
    checkPositive('httpListener', o, names.split(' '), { zero, whole: true, finite });
  check('maxConnections maxInFlightPerConnection', false, false);
  check('maxConnectionsPerAddress maxRequestsPerSocket', true, false);
  check('headersTimeoutMs maxHeaderSize', false, true);
  check('requestTimeoutMs idleTimeoutMs keepAliveTimeoutMs retryAfterSeconds', true, true);
  const { host, path } = o;
  let draining = false;
  let stopped = false;
  let closing: Promise<void> | undefined;
  // Requests whose answer is not written yet: close() lets them finish before cutting connections.
  const answering = new Answering();
  let guard: ConnectionGuard | undefined;
  // A graceful close()'s own connection to its port (see flushAcceptQueue), and the end of its wait.
  let marker: Socket | undefined;
  let flushed = () => {};
  // A graceful close() waits until no answer is under way and every connection has sent a request.
  const settled = new QuietWait();
  let settling = false;
  const quiet = () => answering.size === 0 && guard?.first('fresh') === undefined;
  const nudge = () => {
    if (quiet()) settled.quiet();
  };

  const listener: { -readonly [K in keyof HttpListener]: HttpListener[K] } = {
    transport: 'http',
    urls: [],
    server: undefined,
    port: undefined,
    async start(dispatcher: Dispatcher) {
      if (listener.server !== undefined) throw new Error('this HTTP listener was already started');
      const inner = buildHandler(dispatcher, options, () => draining);
      const { maxInFlightPerConnection: maxPerConnection, maxConnections, maxConnectionsPerAddress } = o;
      const { headersTimeoutMs: headersTimeout, idleTimeoutMs: idleTimeout } = o;
      const { refuse } = new Responder(String(o.retryAfterSeconds));
      const connections = new ConnectionGuard({
        maxConnections,
        maxConnectionsPerAddress,
        idleTimeoutMs: idleTimeout,
        refusedGraceMs: Math.min(headersTimeout, OVER_LIMIT_GRACE_MS),
      });
      guard = connections;
      const { Overloaded } = ErrorCodes;
      const handler: typeof inner = (req, res) => {
        answering.begin();
        const socket = req.socket;
        const entry = connections.get(socket);
        if (entry !== undefined) connections.busy(entry);
        res.once('close', () => {
          if (entry !== undefined && !socket.destroyed) connections.idle(entry);
          answering.end();
          if (settling) nudge();
        });
        const refusal = entry?.refusal;
        if (refusal !== undefined) {
          // A connection past a connection limit: told so (safe to retry elsewhere), then closed.
          const data = refusal === 'too many connections' ? { maxConnections } : { maxConnectionsPerAddress };
          refuse(res, 503, Overloaded, refusal, data);
        } else if (entry !== undefined && entry.busy > maxPerConnection) {
          // Pipelined past the bound: answered in order, never dispatched.
          const data = { maxInFlightPerConnection: maxPerConnection };
          refuse(res, 503, Overloaded, 'too many requests in flight on this connection', data, false);
        } else inner(req, res);
      };
      const requestTimeout = o.requestTimeoutMs;
      const serverOptions = {
        headersTimeout,
        requestTimeout: requestTimeout > 0 ? Math.max(requestTimeout, headersTimeout) : 0,
        // node:http reads 0 as "never": an idle timeout turned off leaves keep-alive at its default.
        keepAliveTimeout:
          options.keepAliveTimeoutMs ??
          (idleTimeout > 0 ? idleTimeout : HttpServerDefaults.keepAliveTimeoutMs),
        connectionsCheckingInterval: Math.min(
          HttpServerDefaults.connectionsCheckingIntervalMs,
          Math.max(50, Math.floor(headersTimeout / 2)),
        ),
        maxHeaderSize: o.maxHeaderSize,
      };
      const plain = options.tls === undefined;
      const created = plain
        ? createHttpServer(serverOptions, handler)
        : createHttpsServer(
            // A handshake that never completes is an idle connection too.
            { ...(idleTimeout > 0 && { handshakeTimeout: idleTimeout }), ...options.tls, ...serverOptions },
            handler,
          );
      // TLS connections count once their handshake is done; past twice maxConnections, node:net
      // drops them unread. The marker (see flushAcceptQueue) is never served.
      created.on('connection', (socket: Socket) => {
        if (
          marker &&
          socket.remotePort === marker.localPort &&
          socket.remoteAddress === marker.localAddress
        ) {
          socket.destroy();
          flushed();
        } else if (plain) connections.admit(socket);
      });
      if (!plain) created.on('secureConnection', (socket: Socket) => connections.admit(socket));
      created.maxConnections = maxConnections * 2;
      created.maxRequestsPerSocket = o.maxRequestsPerSocket;
      // Expect: 100-continue: refuse an oversized body before the client sends it.
      const maxBodyBytes = options.maxBodyBytes ?? dispatcher.limits.maxMessageBytes;
      created.on('checkContinue', (req, res) => {
        if (!(Number(req.headers['content-length']) > maxBodyBytes) && dispatcher.accepting)
          res.writeContinue();
        handler(req, res);
      });
      // A broken client socket must never take the process down.
      created.on('clientError', (error: NodeJS.ErrnoException, socket) => {
        const pending = (socket as { _httpMessage?: ServerResponse })._httpMessage;
        if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && pending && !pending.headersSent && socket.writable) {
          // The body did not arrive within requestTimeoutMs: say so, then close. Never dispatched.
          pending.shouldKeepAlive = false;
          pending.once('finish', () => socket.destroy());
          const data = { reason: 'the request did not arrive in time', requestTimeoutMs: requestTimeout };
          refuse(pending, 408, ErrorCodes.InvalidRequest, 'request timeout', data);
          setTimeout(() => socket.destroy(), 1_000).unref();
          return;
        }
        if (!socket.writable || pending) {
          socket.destroy();
          return;
        }
        const status =
          error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
        socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
        );
      });
      created.listen(options.port ?? 0, host);
      await once(created, 'listening').catch((error: unknown) => {
        connections.stop(); // a port in use
        throw error;
      });
      created.on('error', () => {});
      listener.server = created;
      listener.port = (created.address() as AddressInfo).port;
      listener.urls = [boundUrl(plain ? 'http' : 'https', host, listener.port, path)];
    },
    async stopAccepting() {
      // The port stays open until close() (see flushAcceptQueue): until then new requests get 503
      // Draining with `Connection: close` (not processed), in-flight ones close after answering.
      draining = true;
      stopped = true;
    },
    close(closeOptions) {
      // Called by hand: forced when it came without stopAccepting() while answers are under way.
      const forced = closeOptions?.forced ?? (!stopped && answering.size > 0);
      draining = true;
      guard?.stop();
      closing ??= listener.server === undefined ? Promise.resolve() : shut(listener.server, !forced);
      return closing;
    },
  };
  return listener;

  /**
   * close(). A forced close (`server.close()`, drain timeout 0: the handlers were aborted) cuts
   * every connection at once. A graceful one loses no request a client sent: the kernel's accept
   * queue is emptied before the port closes, and for at most CLOSE_GRACE_MS no connection is cut
   * until every one has sent its request (answered 503 Draining) and every answer is written.
   * Then idle keep-alive connections close and the rest is cut.
   */
  async function shut(target: Server, graceful: boolean): Promise<void> {
    const deadline = Date.now() + CLOSE_GRACE_MS;
    if (graceful) await flushAcceptQueue(target);
    // net's close(), not node:http's: that also closes idle keep-alive sockets, racing a client
    // just sending on one. Resolves once every connection has ended.
    const closed = new Promise<void>((resolve) => {
      target.once('close', () => resolve());
      if (target.listening) NetServer.prototype.close.call(target);
      else resolve();
    });
    if (graceful && !quiet()) {
      settling = true;
      // No more admissions: connections without a request yet are watched until they send one
      // (answered, then closed) or close.
      for (const entry of guard?.values() ?? []) if (!entry.served) entry.key.once('close', nudge);
      await settled.wait(Math.max(0, deadline - Date.now()));
      settling = false;
    }
    target.close(); // node:http: stops the timeout checks and closes idle connections
    target.closeAllConnections();
    await closed;
  }

  /**
   * Resolves once `target` has accepted every connection its kernel queued before now, or after
   * CLOSE_GRACE_MS. Closing a listening socket resets every connection still in its accept queue:
   * clients that wrote a request would see ECONNRESET ("may have been processed", so a
   * non-idempotent call fails) although it was never read, and a busy server can hold connections
   * there for hundreds of milliseconds. So the server connects to its own port: the kernel queues
   * that marker behind the others and accepts in order. (One that cannot connect, or reaches
   * another process sharing the port, proves nothing: hence the bound.)
   */
  function flushAcceptQueue(target: Server): Promise<void> {
    const address = target.address();
    if (!target.listening || address === null || typeof address === 'string') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const socket = connect({ host: loopbackFor(address), port: address.port });
      const timer = setTimeout(() => flushed(), CLOSE_GRACE_MS);
      marker = socket;
      flushed = () => {
        marker = undefined;
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      // Refused, or closed by the server before it reached the listener (node:net drops
      // connections past `maxConnections` right after accepting them: the queue was read).
      socket.once('error', flushed).once('close', flushed);
    });
  }
}

/** Where the server itself reaches a listening address (a wildcard one on the loopback). */
function loopbackFor({ address, family }: AddressInfo): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return family === 'IPv6' ? '::1' : '127.0.0.1';
  return address;
}

/** Server options of {@link httpTransport}: {@link HttpListenerOptions} but what the listen URL gives. */
export type HttpServerOptions = Omit<HttpListenerOptions, 'port' | 'host' | 'path'>;

/** The server side of the HTTP transport's options. */
export interface HttpTransportServerOptions {
  /**
   * Options of the listeners `transport.listen(url)` creates (limits, timeouts, `tls` for
   * `https://` URLs, `healthPath`…); the URL gives host, port and path. Default: the
   * {@link HttpServerDefaults}.
   */
  readonly server?: HttpServerOptions;
}

/**
 * Creates the HTTP listener for a listen URL, `http(s)://host:port/path` (https needs `server.tls`):
 * host `0.0.0.0` or `[::]` binds every interface, port 0 picks a free one (see `listener.urls`), a
 * missing one is the scheme's default; the path is the JSON-RPC path, so the listen URL and the
 * client's endpoint URL are the same. Throws a `TypeError` for anything else.
 */
export function listenHttpUrl(url: string, options: HttpServerOptions = {}): HttpListener {
  const form = { transport: 'HTTP', schemes: ['http', 'https'], factory: 'httpTransport' } as const;
  const { host, port, path } = parseListenUrl(url, { ...form, tls: options.tls !== undefined });
  return httpListener({ ...options, host, port, path });
}
