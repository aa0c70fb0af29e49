import { setMaxListeners } from 'node:events';
import {
  type Dispatcher,
  ErrorCodes,
  errorResponse,
  type IncomingContext,
  type IncomingCredentials,
  type JsonRpcResponse,
} from '@resilient-rpc/core';
import WebSocket from 'ws';
import { corkedSend } from './corked-send.js';

/** What a server-side connection needs from its listener. */
export interface ServerConnectionOptions {
  readonly dispatcher: Dispatcher;
  readonly maxInFlight: number;
  readonly credentials: IncomingCredentials;
  readonly remoteAddress: string | undefined;
  /** Called once when the socket closed and every handler of it settled or was aborted. */
  readonly onClosed: (connection: ServerConnection) => void;
}

/**
 * One accepted WebSocket on the server: parses each text frame, enforces the per-connection
 * in-flight limit, dispatches, writes responses back, and aborts its handlers when it closes.
 */
export class ServerConnection {
  private inFlight = 0;
  /** Answered a ping (or sent anything) since the last heartbeat tick. */
  alive = true;
  private readonly controller = new AbortController();
  private readonly context: IncomingContext;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly socket: WebSocket,
    private readonly options: ServerConnectionOptions,
  ) {
    // Every in-flight handler listens on this signal; thousands per connection are normal.
    setMaxListeners(0, this.controller.signal);
    this.context = {
      transport: 'ws',
      metadata: {},
      credentials: options.credentials,
      signal: this.controller.signal,
      ...(options.remoteAddress !== undefined && { remoteAddress: options.remoteAddress }),
    };
    socket.on('message', (data, isBinary) => {
      this.alive = true;
      this.onMessage(data, isBinary);
    });
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('error', () => {
      // 'close' follows (ws closes with 1009 on an oversize frame, 1002 on a protocol error).
    });
    socket.on('close', () => {
      this.controller.abort(new Error('the connection closed'));
      options.onClosed(this);
    });
  }

  /** Requests of this connection being handled. */
  get pending(): number {
    return this.inFlight;
  }

  /** Resolves once no request of this connection is being handled. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.reply(
        errorResponse(null, ErrorCodes.InvalidRequest, 'Invalid Request', {
          reason: 'binary frames are not supported; send JSON-RPC as text frames',
        }),
      );
      return;
    }
    const text = data.toString();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.reply(
        errorResponse(null, ErrorCodes.ParseError, 'Parse error', { reason: (error as Error).message }),
      );
      return;
    }
    const count = Array.isArray(value) ? Math.max(1, value.length) : 1;
    if (this.inFlight + count > this.options.maxInFlight) {
      this.refuseOverloaded(value);
      return;
    }
    this.inFlight += count;
    this.options.dispatcher.handleMessage(value, this.context).then(
      (response) => this.done(count, Array.isArray(value) ? perEntry(value, response) : response),
      () =>
        // handleMessage never rejects by contract; guard anyway.
        this.done(count, errorResponse(null, ErrorCodes.InternalError, 'Internal error')),
    );
  }

  private done(count: number, response: JsonRpcResponse | JsonRpcResponse[] | undefined): void {
    this.inFlight -= count;
    if (response !== undefined) this.reply(response);
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  /** Answers every request of the message with -32002 Overloaded (notifications are dropped). */
  private refuseOverloaded(value: unknown): void {
    const refusal = (item: unknown): JsonRpcResponse | undefined => {
      if (typeof item !== 'object' || item === null || !Object.hasOwn(item, 'id')) return undefined;
      const id = (item as { id: unknown }).id;
      const validId = id === null || typeof id === 'string' || typeof id === 'number' ? id : null;
      return errorResponse(validId, ErrorCodes.Overloaded, 'too many requests in flight on this connection', {
        maxInFlight: this.options.maxInFlight,
      });
    };
    if (Array.isArray(value)) {
      const responses = value.map(refusal).filter((r): r is JsonRpcResponse => r !== undefined);
      if (responses.length > 0) this.reply(responses);
    } else {
      const response = refusal(value);
      if (response) this.reply(response);
    }
  }

  private reply(message: JsonRpcResponse | JsonRpcResponse[]): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    let text: string;
    try {
      text = JSON.stringify(message);
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
      text = JSON.stringify(Array.isArray(message) ? message.map(replace) : replace(message));
    }
    corkedSend(this.socket, text);
  }
}

/**
 * One error without an id for a whole batch (too many entries) cannot be matched on a socket that
 * multiplexes many requests: answer it for every request of the batch, by id (notifications get none).
 */
function perEntry(
  batch: readonly unknown[],
  response: JsonRpcResponse | JsonRpcResponse[] | undefined,
): JsonRpcResponse | JsonRpcResponse[] | undefined {
  if (response === undefined || Array.isArray(response) || response.id !== null || !('error' in response))
    return response;
  const answers: JsonRpcResponse[] = [];
  for (const item of batch) {
    if (typeof item !== 'object' || item === null || !Object.hasOwn(item, 'id')) continue;
    const id = (item as { id: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') answers.push({ ...response, id });
  }
  return answers.length > 0 ? answers : response;
}
