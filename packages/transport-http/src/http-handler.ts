import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  type Dispatcher,
  type DispatchStatus,
  ErrorCodes,
  errorResponse,
  type IncomingCredentials,
  type JsonRpcResponse,
  type RpcServer,
  type WireMetadata,
} from '@resilient-rpc/core';
import {
  certificateUser,
  dispatchStatusOf,
  flattenHeaders,
  LazyIncoming,
  metadataFromRecord,
  type OptionsOf,
  positiveNumber,
  withDefaults,
} from '@resilient-rpc/core/transport';
import { HttpServerDefaults } from './defaults.js';

/** The server options documented with their defaults in {@link HttpServerDefaults}. */
export type ServerOptionsOf = OptionsOf<typeof HttpServerDefaults>;

/** Options of {@link createHttpHandler}; `path` and `retryAfterSeconds`: see {@link HttpServerDefaults}. */
export interface HttpHandlerOptions extends Pick<ServerOptionsOf, 'path' | 'retryAfterSeconds'> {
  /** Path of the health endpoint (`GET`/`HEAD`); `false` turns it off. Default `/health`. */
  readonly healthPath?: string | false;
  /** Largest request body in bytes; larger ones get 413. Default: the server's `maxMessageBytes` (1 MiB). */
  readonly maxBodyBytes?: number;
}

/** A node:http request handler; `next` (express style) is called for paths it does not serve. */
export type HttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/**
 * The HTTP status of each {@link DispatchStatus}, which tells clients and proxies what happened
 * without reading the body (401 with `WWW-Authenticate: Bearer`, 503 with `Retry-After`).
 */
export const HttpStatusOf: Readonly<Record<DispatchStatus, number>> = Object.freeze({
  ok: 200,
  'no-content': 204,
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  'too-large': 413,
  overloaded: 503,
  draining: 503,
});

/**
 * The HTTP status for a JSON-RPC answer: batches are 200; a single error response gets 400
 * (-32700, -32600), 401 (-32004), 403 (-32005), 413 (-32006, -32007) or 503 (-32002, -32003);
 * anything else (method errors, deadline) is 200.
 */
export function statusFor(response: JsonRpcResponse | JsonRpcResponse[]): number {
  return HttpStatusOf[dispatchStatusOf(response)];
}

/** How one server side answers, with its `Retry-After` (seconds) for 503s. */
export class Responder {
  constructor(private readonly retryAfter: string) {}

  /** Writes one answer (`body` JSON text or none), unless one was written or the response destroyed. */
  readonly send = (res: ServerResponse, status: number, body: string | undefined, close: boolean): void => {
    if (res.headersSent || res.destroyed) return;
    // A flat name, value list: node:http writes it as it is (an object costs a for-in walk).
    const headers: string[] =
      body === undefined
        ? []
        : ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))];
    if (status === 503) headers.push('retry-after', this.retryAfter);
    if (status === 401) headers.push('www-authenticate', 'Bearer');
    if (close) headers.push('connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
  };

  /** What the HTTP layer refuses itself: an id-less JSON-RPC error, `Connection: close` by default. */
  readonly refuse = (
    res: ServerResponse,
    status: number,
    code: number,
    message: string,
    data?: unknown,
    close = true,
  ): void => this.send(res, status, JSON.stringify(errorResponse(null, code, message, data)), close);
}

/** Reads a request body, giving up as soon as more than `maxBytes` arrived (the rest is never buffered). */
function readBody(
  req: IncomingMessage,
  maxBytes: number,
  done: (body: Buffer | 'too-large' | 'aborted') => void,
): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let settled = false;
  const finish = (result: Buffer | 'too-large' | 'aborted') => {
    if (settled) return;
    settled = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    done(result);
  };
  const onData = (chunk: Buffer) => {
    total += chunk.length;
    if (total <= maxBytes) chunks.push(chunk);
    else {
      chunks.length = 0;
      req.pause();
      finish('too-large');
    }
  };
  const onEnd = () => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
  const onClose = () => {
    if (!req.complete) finish('aborted');
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onClose);
  // Kept after settling: an 'error' on a request without listeners would be thrown.
  req.on('error', () => finish('aborted'));
}

const JSON_TYPES = new Set(['application/json', 'application/json-rpc', 'application/jsonrequest']);
function isDispatcher(target: Dispatcher | RpcServer): target is Dispatcher {
  return typeof (target as Dispatcher).handleMessage === 'function';
}

/** The media type of a Content-Type header is JSON and its charset, if any, UTF-8. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  if (!JSON_TYPES.has(type)) return false;
  if (semicolon === -1) return true;
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(header.slice(semicolon))?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/** The `credentials.user` of a client certificate the TLS layer verified (`requestCert: true`). */
function clientCertificateSubject(req: IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (socket.encrypted !== true || socket.authorized !== true) return undefined;
  return certificateUser(socket.getPeerCertificate?.()?.subject as Record<string, string | string[]>);
}

/** One request's context for the dispatcher: signal and credentials built only when read. */
class HttpIncoming extends LazyIncoming {
  readonly transport = 'http';
  private cachedCredentials: IncomingCredentials | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    metadata: WireMetadata,
  ) {
    super(metadata, req.socket.remoteAddress);
  }

  get credentials(): IncomingCredentials {
    if (this.cachedCredentials === undefined) {
      // The server reads credentials for every request: a plain object (a getter cost ~1 µs per
      // request, issue 16). node:http joined repeated headers into one string, except Set-Cookie.
      const headers = this.req.headers;
      const flat =
        headers['set-cookie'] === undefined ? (headers as Record<string, string>) : flattenHeaders(headers);
      const user = clientCertificateSubject(this.req);
      this.cachedCredentials = user === undefined ? { headers: flat } : { headers: flat, user };
    }
    return this.cachedCredentials;
  }

  /** The client closed the connection before its answer was written. */
  protected watch(gone: () => void): void {
    const res = this.res;
    const closed = () => {
      if (!res.writableFinished) gone();
    };
    if (res.closed) closed();
    else res.once('close', closed);
  }
}

/**
 * Creates a node:http request handler serving a resilient-rpc server (or its dispatcher):
 * `POST <path>` takes JSON-RPC 2.0, `GET <healthPath>` answers 200 while serving and 503 while
 * draining. Mount it in a node:http server (`http.createServer(handler)`), express
 * (`app.use(handler)`) or fastify (see the README). It never throws.
 */
export function createHttpHandler(
  target: Dispatcher | RpcServer,
  options: HttpHandlerOptions = {},
): HttpHandler {
  return buildHandler(isDispatcher(target) ? target : target.dispatcher, options);
}

/**
 * Internal: {@link createHttpHandler}, with `closing`, how a listener tells the handler to close
 * connections after answering (while draining). The HTTP layer refuses what it can before reading
 * a body; `dispatcher.dispatch` owns the rest, and its status becomes the HTTP status.
 */
export function buildHandler(
  dispatcher: Dispatcher,
  options: HttpHandlerOptions,
  closing: () => boolean = () => false,
): HttpHandler {
  const { path: rpcPath, healthPath, retryAfterSeconds } = withDefaults(HttpServerDefaults, options);
  const seconds = { zero: true, whole: true, finite: true };
  positiveNumber('createHttpHandler: retryAfterSeconds', retryAfterSeconds, seconds);
  const maxBodyBytes = options.maxBodyBytes ?? dispatcher.limits.maxMessageBytes;
  positiveNumber('createHttpHandler: maxBodyBytes', maxBodyBytes);
  const { send, refuse } = new Responder(String(retryAfterSeconds));
  const { InvalidRequest } = ErrorCodes;
  const tooLarge = (res: ServerResponse) =>
    refuse(res, 413, ErrorCodes.MessageTooLarge, 'message too large', { maxMessageBytes: maxBodyBytes });
  const methodNotAllowed = (res: ServerResponse, allow: string[]) => {
    res.setHeader('allow', allow.join(', '));
    refuse(res, 405, InvalidRequest, 'Method not allowed', { allow });
  };
  /** Something threw while answering (never expected): 500 if nothing went out yet, else cut. */
  const fail = (res: ServerResponse) => {
    try {
      if (res.headersSent) res.destroy();
      else refuse(res, 500, ErrorCodes.InternalError, 'Internal error');
    } catch {
      res.destroy();
    }
  };

  /**
   * 503 Draining, then `Connection: close`, once the body was read (up to the limit): closing a
   * socket with unread data resets it, and the client would see ECONNRESET ("may have been
   * processed") instead of the 503 ("not processed, retry elsewhere").
   */
  function draining(req: IncomingMessage, res: ServerResponse) {
    const answer = () => refuse(res, 503, ErrorCodes.Draining, 'server is draining');
    if (req.complete || !(Number(req.headers['content-length'] ?? 0) <= maxBodyBytes)) return answer();
    const timer = setTimeout(answer, 1_000).unref();
    const finish = () => {
      clearTimeout(timer);
      answer();
    };
    req.once('end', finish).once('error', finish).resume();
  }

  function health(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, ['GET', 'HEAD']);
    const serving = dispatcher.accepting;
    const body = JSON.stringify({ status: serving ? 'serving' : 'draining', inFlight: dispatcher.inFlight });
    send(res, serving ? 200 : 503, req.method === 'HEAD' ? undefined : body, closing());
  }

  function dispatch(req: IncomingMessage, res: ServerResponse, message: string | Uint8Array): void {
    // Sanitised once, by the core: the dispatcher does not sanitise it again.
    const metadata = metadataFromRecord(req.headers);
    dispatcher
      .dispatch(message, new HttpIncoming(req, res, metadata))
      .then((result) => send(res, HttpStatusOf[result.status], result.body, closing()))
      .catch(() => fail(res));
  }

  function rpc(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== 'POST') return methodNotAllowed(res, ['POST']);
    if (!dispatcher.accepting) return draining(req, res);
    if (!isJsonContentType(req.headers['content-type'])) {
      const data = { reason: 'Content-Type must be application/json (UTF-8)' };
      return refuse(res, 415, InvalidRequest, 'Unsupported Media Type', data);
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBodyBytes) return tooLarge(res);
    const preParsed = req as IncomingMessage & { body?: unknown; _body?: boolean };
    if (preParsed._body === true || (req.readableEnded && preParsed.body !== undefined)) {
      // A body parser (express.json, fastify) already consumed the stream: the dispatcher takes
      // its text, or the parsed value written out again.
      const body = preParsed.body;
      return dispatch(
        req,
        res,
        typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      );
    }
    readBody(req, maxBodyBytes, (body) => {
      try {
        if (body === 'too-large') tooLarge(res);
        else if (body !== 'aborted') dispatch(req, res, body);
      } catch {
        fail(res);
      }
    });
  }

  return (req, res, next) => {
    try {
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const pathname = query === -1 ? url : url.slice(0, query);
      if (pathname === rpcPath) rpc(req, res);
      else if (healthPath !== false && pathname === healthPath) health(req, res);
      else if (next) next();
      else refuse(res, 404, InvalidRequest, 'Not found', { path: pathname }, closing());
    } catch (error) {
      if (next) next(error);
      else fail(res);
    }
  };
}
