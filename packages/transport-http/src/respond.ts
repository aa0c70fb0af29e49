import type { ServerResponse } from 'node:http';
import { errorResponse } from '@resilient-rpc/core';

/** How a response goes out: `Retry-After` for 503s, `Connection: close` when the connection ends. */
export interface RespondOptions {
  /** `Retry-After` (seconds) sent with 503 answers. */
  readonly retryAfter: string;
  /** Ask the client to close the connection after this answer. */
  readonly close?: boolean;
}

/**
 * Writes one answer: `body` is JSON text (`undefined`: no body). The HTTP layer's headers follow
 * the status (`Retry-After` with 503, `WWW-Authenticate: Bearer` with 401). Nothing is written on
 * a response already answered or destroyed.
 */
export function respond(
  res: ServerResponse,
  status: number,
  body: string | undefined,
  options: RespondOptions,
): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {};
  if (status === 503) headers['retry-after'] = options.retryAfter;
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  if (options.close) headers.connection = 'close';
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * What the HTTP layer refuses itself, before a message reaches the dispatcher (wrong method or
 * media type, a declared body over the limit, draining, connection limits): an id-less JSON-RPC
 * error with the status that says it, and `Connection: close` unless `options.close` is false.
 */
export function refuse(
  res: ServerResponse,
  status: number,
  error: { readonly code: number; readonly message: string; readonly data?: unknown },
  options: RespondOptions,
): void {
  const body = JSON.stringify(errorResponse(null, error.code, error.message, error.data));
  respond(res, status, body, { retryAfter: options.retryAfter, close: options.close ?? true });
}
