import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  type Dispatcher,
  ErrorCodes,
  errorResponse,
  type IncomingContext,
  type IncomingCredentials,
  type JsonRpcResponse,
  metadataFromHeaders,
  parseJson,
  type RpcServer,
} from '@resilient-rpc/core';
import { HttpServerDefaults } from './defaults.js';
import { readBody } from './read-body.js';
import { statusFor } from './status.js';

/** Options of {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  /** Path that takes JSON-RPC `POST`s. Default `/rpc`. Use `/` when mounting under a prefix in express. */
  readonly path?: string;
  /** Path of the health endpoint (`GET`/`HEAD`); `false` turns it off. Default `/health`. */
  readonly healthPath?: string | false;
  /** Largest request body in bytes; larger ones get 413. Default: the server's `maxMessageBytes` (1 MiB). */
  readonly maxBodyBytes?: number;
  /** `Retry-After` (seconds) sent with 503 answers. Default 1. */
  readonly retryAfterSeconds?: number;
}

/** A node:http request handler; `next` (express style) is called for paths it does not serve. */
export type HttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/** Internal: how a listener tells the handler to close connections after answering (while draining). */
export interface HandlerHooks {
  readonly closing?: () => boolean;
}

const JSON_TYPES = new Set(['application/json', 'application/json-rpc', 'application/jsonrequest']);
const JSON_CONTENT = 'application/json';

type Body = JsonRpcResponse | JsonRpcResponse[] | Record<string, unknown>;

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

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (typeof value === 'string') result[name] = value;
    else if (Array.isArray(value)) result[name] = value.join(', ');
  }
  return result;
}

/**
 * The subject (CN, else the whole subject) of a client certificate the TLS layer verified
 * (https with `requestCert: true`), for the `authenticate` hook as `credentials.user`.
 */
function clientCertificateSubject(req: IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (socket.encrypted !== true || socket.authorized !== true) return undefined;
  const subject = socket.getPeerCertificate?.()?.subject as Record<string, string | string[]> | undefined;
  if (subject === undefined || Object.keys(subject).length === 0) return undefined;
  const cn = subject.CN;
  if (typeof cn === 'string') return cn;
  return Object.entries(subject)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(',');
}

function serialise(body: Body): string {
  try {
    return JSON.stringify(body);
  } catch {
    const replace = (item: JsonRpcResponse): JsonRpcResponse => {
      try {
        JSON.stringify(item);
        return item;
      } catch {
        return errorResponse(item.id, ErrorCodes.InternalError, 'Internal error', {
          reason: 'result is not JSON-serialisable',
        });
      }
    };
    return JSON.stringify(Array.isArray(body) ? body.map(replace) : replace(body as JsonRpcResponse));
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
  return buildHandler(isDispatcher(target) ? target : target.dispatcher, options, {});
}

/** Internal: {@link createHttpHandler} with listener hooks. */
export function buildHandler(
  dispatcher: Dispatcher,
  options: HttpHandlerOptions,
  hooks: HandlerHooks,
): HttpHandler {
  const rpcPath = options.path ?? HttpServerDefaults.path;
  const healthPath = options.healthPath === undefined ? HttpServerDefaults.healthPath : options.healthPath;
  const maxBodyBytes = options.maxBodyBytes ?? dispatcher.limits.maxMessageBytes;
  const retryAfter = String(options.retryAfterSeconds ?? HttpServerDefaults.retryAfterSeconds);
  const closing = hooks.closing ?? (() => false);

  function send(res: ServerResponse, status: number, body: Body | undefined, close = false): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | number> = {};
    if (status === 503 || status === 429) headers['retry-after'] = retryAfter;
    if (status === 401) headers['www-authenticate'] = 'Bearer';
    if (close || closing()) headers.connection = 'close';
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const text = serialise(body);
    headers['content-type'] = JSON_CONTENT;
    headers['content-length'] = Buffer.byteLength(text);
    res.writeHead(status, headers);
    res.end(text);
  }

  function refuse(res: ServerResponse, status: number, code: number, message: string, data?: unknown): void {
    send(res, status, errorResponse(null, code, message, data), true);
  }

  /**
   * 503 Draining, then `Connection: close`. The request body is read first (up to the body limit):
   * closing a socket with unread data makes the kernel send a reset, and the client would see
   * ECONNRESET ("may have been processed") instead of the 503 ("not processed, retry elsewhere").
   */
  function draining(req: IncomingMessage, res: ServerResponse): void {
    const answer = () => send(res, 503, errorResponse(null, ErrorCodes.Draining, 'server is draining'), true);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (req.complete || !(declared <= maxBodyBytes)) {
      answer();
      return;
    }
    const timer = setTimeout(answer, 1_000);
    timer.unref();
    const finish = () => {
      clearTimeout(timer);
      answer();
    };
    req.once('end', finish);
    req.once('error', finish);
    req.resume();
  }

  function health(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      refuse(res, 405, ErrorCodes.InvalidRequest, 'Method not allowed', { allow: ['GET', 'HEAD'] });
      return;
    }
    const serving = dispatcher.accepting;
    const body = { status: serving ? 'serving' : 'draining', inFlight: dispatcher.inFlight };
    if (req.method === 'HEAD') send(res, serving ? 200 : 503, undefined);
    else send(res, serving ? 200 : 503, body);
  }

  function dispatch(req: IncomingMessage, res: ServerResponse, message: unknown): void {
    const headers = req.headers;
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
    });
    let flat: Record<string, string> | undefined;
    const user = clientCertificateSubject(req);
    const credentials: IncomingCredentials = {
      get headers() {
        flat ??= flattenHeaders(headers);
        return flat;
      },
      ...(user !== undefined && { user }),
    };
    const context: IncomingContext = {
      transport: 'http',
      metadata: metadataFromHeaders((name) => {
        const value = headers[name];
        return typeof value === 'string' ? value : undefined;
      }),
      remoteAddress: req.socket.remoteAddress,
      credentials,
      signal: controller.signal,
    };
    dispatcher
      .handleMessage(message, context)
      .then(
        (response) => {
          if (response === undefined) send(res, 204, undefined);
          else send(res, statusFor(response), response);
        },
        () => send(res, 500, errorResponse(null, ErrorCodes.InternalError, 'Internal error')),
      )
      .catch(() => fail(res));
  }

  function fail(res: ServerResponse): void {
    try {
      if (!res.headersSent)
        send(res, 500, errorResponse(null, ErrorCodes.InternalError, 'Internal error'), true);
      else res.destroy();
    } catch {
      res.destroy();
    }
  }

  function rpc(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      refuse(res, 405, ErrorCodes.InvalidRequest, 'Method not allowed', { allow: ['POST'] });
      return;
    }
    if (!dispatcher.accepting) {
      draining(req, res);
      return;
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      refuse(res, 415, ErrorCodes.InvalidRequest, 'Unsupported Media Type', {
        reason: 'Content-Type must be application/json (UTF-8)',
      });
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      refuse(res, 413, ErrorCodes.MessageTooLarge, 'message too large', { maxMessageBytes: maxBodyBytes });
      return;
    }
    const preParsed = req as IncomingMessage & { body?: unknown; _body?: boolean };
    if (preParsed._body === true || (req.readableEnded && preParsed.body !== undefined)) {
      // A body parser (express.json, fastify) already consumed the stream.
      const body = preParsed.body;
      if (typeof body === 'string' || Buffer.isBuffer(body)) handleText(req, res, body.toString());
      else dispatch(req, res, body);
      return;
    }
    readBody(req, maxBodyBytes)
      .then((result) => {
        if (result.ok) handleText(req, res, result.text);
        else if (result.reason === 'too-large')
          refuse(res, 413, ErrorCodes.MessageTooLarge, 'message too large', {
            maxMessageBytes: maxBodyBytes,
          });
      })
      .catch(() => fail(res));
  }

  function handleText(req: IncomingMessage, res: ServerResponse, text: string): void {
    if (text.length > maxBodyBytes) {
      refuse(res, 413, ErrorCodes.MessageTooLarge, 'message too large', { maxMessageBytes: maxBodyBytes });
      return;
    }
    const parsed = parseJson(text);
    if (!parsed.ok) {
      send(res, 400, parsed.response);
      return;
    }
    dispatch(req, res, parsed.value);
  }

  return (req, res, next) => {
    try {
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const pathname = query === -1 ? url : url.slice(0, query);
      if (pathname === rpcPath) rpc(req, res);
      else if (healthPath !== false && pathname === healthPath) health(req, res);
      else if (next) next();
      else send(res, 404, errorResponse(null, ErrorCodes.InvalidRequest, 'Not found', { path: pathname }));
    } catch (error) {
      if (next) next(error);
      else fail(res);
    }
  };
}
