import type { ServerResponse } from 'node:http';
import { errorResponse } from '@resilient-rpc/core';

/** How one server side answers, with its `Retry-After` (seconds) for 503s. */
export class Responder {
  constructor(private readonly retryAfter: string) {}

  /**
   * Writes one answer: `body` is JSON text (`undefined`: no body). The HTTP layer's headers follow
   * the status (`Retry-After` with 503, `WWW-Authenticate: Bearer` with 401); `close` asks the
   * client to close the connection after it. Nothing is written on a response already answered
   * or destroyed.
   */
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

  /**
   * What the HTTP layer refuses itself, before a message reaches the dispatcher (wrong method or
   * media type, a declared body over the limit, draining, connection limits): an id-less JSON-RPC
   * error with the status that says it, and `Connection: close` unless `close` is false.
   */
  readonly refuse = (
    res: ServerResponse,
    status: number,
    code: number,
    message: string,
    data?: unknown,
    close = true,
  ): void => this.send(res, status, JSON.stringify(errorResponse(null, code, message, data)), close);
}
