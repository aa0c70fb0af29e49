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

/** Node fires a longer timer after 1 ms: longer waits are capped here (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a server-side connection needs from its listener. */
export interface ServerConnectionOptions {
  readonly dispatcher: Dispatcher;
  readonly maxInFlight: number;
  /** Unsent reply bytes past which the connection stops being read. */
  readonly maxBufferedBytes: number;
  /** A connection not read for this long because its peer does not read its replies is terminated, ms. */
  readonly stalledReadTimeoutMs: number;
  readonly credentials: IncomingCredentials;
  readonly remoteAddress: string | undefined;
  /** Called once when the socket closed and every handler of it settled or was aborted. */
  readonly onClosed: (connection: ServerConnection) => void;
}

/**
 * One accepted WebSocket on the server: parses each text frame, enforces the per-connection
 * in-flight limit, dispatches, writes responses back, and aborts its handlers when it closes.
 *
 * Write backpressure: a request stays counted in flight until its reply has been handed to the
 * kernel (not when its handler ends), and while more than `maxBufferedBytes` of replies wait to
 * be sent the socket is not read, so a peer that sends without reading cannot grow our memory.
 */
export class ServerConnection {
  /** Requests admitted whose reply has not been written yet (batch entries count one each). */
  private inFlight = 0;
  /** Of those, the ones whose reply is sent and waits for its write callback. */
  private awaitingWrite = 0;
  /** Answered a ping (or sent anything) since the last heartbeat tick. */
  alive = true;
  /**
   * When the connection was last active (`Date.now()`): a message arrived or its last reply was
   * written. Pongs do not count: idle clients answer pings.
   */
  lastActiveAt = Date.now();
  /** The socket is not read because too many reply bytes wait to be sent. */
  private paused = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly controller = new AbortController();
  private readonly context: IncomingContext;
  private readonly maxBatchSize: number;
  private idleWaiters: Array<() => void> = [];
  /** Write callbacks bound once: the hot path makes no closure per reply. */
  private readonly writtenNone = (): void => this.written(0);
  private readonly writtenOne = (): void => this.written(1);

  constructor(
    readonly socket: WebSocket,
    private readonly options: ServerConnectionOptions,
  ) {
    // Every in-flight handler listens on this signal; thousands per connection are normal.
    setMaxListeners(0, this.controller.signal);
    this.maxBatchSize = options.dispatcher.limits.maxBatchSize;
    this.context = {
      transport: 'ws',
      metadata: {},
      credentials: options.credentials,
      signal: this.controller.signal,
      ...(options.remoteAddress !== undefined && { remoteAddress: options.remoteAddress }),
    };
    socket.on('message', (data, isBinary) => {
      this.alive = true;
      this.lastActiveAt = Date.now();
      this.onMessage(data, isBinary);
    });
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('error', () => {
      // 'close' follows (ws closes with 1009 on an oversize frame, 1002 on a protocol error).
    });
    socket.on('close', () => {
      clearTimeout(this.stallTimer);
      clearTimeout(this.closeTimer);
      this.controller.abort(new Error('the connection closed'));
      options.onClosed(this);
    });
  }

  /** Requests of this connection being handled or whose reply is not written yet. */
  get pending(): number {
    return this.inFlight;
  }

  /** The socket is not being read: its peer does not read the replies. */
  get stalled(): boolean {
    return this.paused;
  }

  /** Resolves once no request of this connection is being handled. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes with `code`; a peer that does not answer the close frame within `timeoutMs` is cut off. */
  close(code: number, reason: string, timeoutMs: number): void {
    if (this.closeTimer !== undefined) return;
    this.closeTimer = setTimeout(() => this.socket.terminate(), timeoutMs);
    this.closeTimer.unref();
    this.socket.close(code, reason);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.reply(
        errorResponse(null, ErrorCodes.InvalidRequest, 'Invalid Request', {
          reason: 'binary frames are not supported; send JSON-RPC as text frames',
        }),
        0,
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
        0,
      );
      return;
    }
    // A batch over maxBatchSize runs nothing: the dispatcher answers it -32007 at once, so it
    // takes one slot rather than being refused -32002 (which would invite a retry).
    const count = Array.isArray(value)
      ? value.length > this.maxBatchSize
        ? 1
        : Math.max(1, value.length)
      : 1;
    if (this.inFlight + count > this.options.maxInFlight) {
      this.refuseOverloaded(value);
      // Slots held by replies the peer has not read yet: reading on would only parse and refuse
      // (id-less entries are refused silently, so no reply bytes would ever trigger the pause).
      if (this.awaitingWrite > 0 && !this.paused) this.pause();
      return;
    }
    this.inFlight += count;
    this.options.dispatcher.handleMessage(value, this.context).then(
      (response) => this.reply(Array.isArray(value) ? perEntry(value, response) : response, count),
      () =>
        // handleMessage never rejects by contract; guard anyway.
        this.reply(errorResponse(null, ErrorCodes.InternalError, 'Internal error'), count),
    );
  }

  /** `count` requests are answered (their reply written, failed or not needed): free their slots. */
  private written(count: number): void {
    if (count > 0) {
      this.inFlight -= count;
      this.awaitingWrite -= count;
      // A long call just answered: the idle time starts now, not at its request.
      if (this.inFlight === 0) this.lastActiveAt = Date.now();
      if (this.inFlight === 0 && this.idleWaiters.length > 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const waiter of waiters) waiter();
      }
    }
    // Resume at half the bound, so that a slow reader does not flip the socket on every frame.
    if (
      this.paused &&
      this.inFlight < this.options.maxInFlight &&
      this.socket.bufferedAmount <= this.options.maxBufferedBytes / 2
    )
      this.resume();
  }

  private pause(): void {
    this.paused = true;
    this.socket.pause();
    if (!Number.isFinite(this.options.stalledReadTimeoutMs)) return;
    this.stallTimer = setTimeout(
      () => {
        // The peer read nothing of ours for the whole timeout: its replies are not wanted.
        this.socket.terminate();
      },
      Math.min(this.options.stalledReadTimeoutMs, MAX_TIMER_MS),
    );
    this.stallTimer.unref();
  }

  private resume(): void {
    this.paused = false;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    // Pongs could not be read while paused: do not judge liveness on that interval.
    this.alive = true;
    this.socket.resume();
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
      if (responses.length > 0) this.reply(responses, 0);
    } else {
      const response = refusal(value);
      if (response) this.reply(response, 0);
    }
  }

  /**
   * Writes a reply; `count` requests stay in flight until it is written. Past `maxBufferedBytes`
   * of unsent replies the socket stops being read.
   */
  private reply(message: JsonRpcResponse | JsonRpcResponse[] | undefined, count: number): void {
    this.awaitingWrite += count;
    if (message === undefined || this.socket.readyState !== WebSocket.OPEN) {
      this.written(count);
      return;
    }
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
    const done = count === 0 ? this.writtenNone : count === 1 ? this.writtenOne : () => this.written(count);
    corkedSend(this.socket, text, done);
    if (!this.paused && this.socket.bufferedAmount > this.options.maxBufferedBytes) this.pause();
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
