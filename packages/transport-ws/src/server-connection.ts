import { setMaxListeners } from 'node:events';
import {
  type Dispatcher,
  ErrorCodes,
  errorResponse,
  type IncomingContext,
  type IncomingCredentials,
} from '@resilient-rpc/core';
import {
  PeerActivity,
  WriteBackpressure,
  type WriteBackpressureOptions,
} from '@resilient-rpc/core/transport';
import WebSocket from 'ws';
import { sendText, tcpSocketOf, unparsedBytesOf } from './corked-send.js';

/** JSON-RPC travels in text frames: a binary frame is refused -32600 (the connection stays open). */
const BINARY_FRAME_REFUSED = JSON.stringify(
  errorResponse(null, ErrorCodes.InvalidRequest, 'Invalid Request', {
    reason: 'binary frames are not supported; send JSON-RPC as text frames',
  }),
);

const EMPTY = Buffer.alloc(0);

/**
 * One accepted WebSocket: hands each text frame to the dispatcher, writes the answer back (with
 * the core's {@link WriteBackpressure}) and aborts its handlers when it closes.
 */
export class ServerConnection extends PeerActivity {
  private readonly backpressure: WriteBackpressure;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly controller = new AbortController();
  private readonly context: IncomingContext;
  readonly closed: Promise<void>;
  /** Requests whose reply was sent in this tick (written once the socket is uncorked). */
  private heldUnflushed = 0;
  /** The underlying TCP socket is corked by this connection until the end of the tick. */
  private flushing = false;
  /** Answers ready at once whose reply waits for the end of their chunk (see `onMessage`). */
  private deferred = 0;

  constructor(
    readonly socket: WebSocket,
    limits: WriteBackpressureOptions,
    private readonly dispatcher: Dispatcher,
    credentials: IncomingCredentials,
    remoteAddress: string | undefined,
  ) {
    // Its lastActiveAt is on Date.now()'s scale: the listener's table measures idle time on it.
    super();
    // Every in-flight handler listens on this signal; thousands per connection are normal.
    setMaxListeners(0, this.controller.signal);
    this.backpressure = new WriteBackpressure(socket, {
      ...limits,
      // Pongs could not be read while paused: do not judge liveness on that interval.
      onResume: () => {
        this.alive = true;
      },
    });
    this.context = {
      transport: 'ws',
      metadata: {},
      credentials,
      signal: this.controller.signal,
      ...(remoteAddress !== undefined && { remoteAddress }),
    };
    socket.on('message', (data, isBinary) => {
      this.heard = true;
      this.touched = true;
      this.onMessage(data, isBinary);
    });
    socket.on('pong', () => {
      this.heard = true;
    });
    socket.on('error', () => {
      // 'close' follows (ws closes with 1009 on an oversize frame, 1002 on a protocol error).
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.backpressure.stop();
        clearTimeout(this.closeTimer);
        this.controller.abort(new Error('the connection closed'));
        resolve();
      }),
    );
  }

  get pending(): number {
    return this.backpressure.inFlight;
  }

  get stalled(): boolean {
    return this.backpressure.stalled;
  }

  ping(): void {
    this.socket.ping();
  }

  terminate(): void {
    this.socket.terminate();
  }

  /**
   * Closes with `code`; a peer that does not answer the close frame within `timeoutMs` is cut off
   * (0: once the frame is written, even when a close is under way already).
   */
  close(code: number, reason: string, timeoutMs: number): void {
    if (this.closeTimer !== undefined && timeoutMs > 0) return;
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => this.socket.terminate(), timeoutMs);
    this.closeTimer.unref();
    this.socket.close(code, reason);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.reply(BINARY_FRAME_REFUSED, 0);
      return;
    }
    // ws has checked that a text frame is UTF-8 already: the dispatcher takes it as text.
    const limit = this.backpressure.message();
    const dispatcher = this.dispatcher;
    const result =
      dispatcher.dispatchNow === undefined
        ? dispatcher.dispatch(data.toString(), this.context, limit)
        : dispatcher.dispatchNow(data.toString(), this.context, limit);
    this.backpressure.dispatched(limit);
    if (result instanceof Promise) result.then((settled) => this.reply(settled.body, limit.held));
    // Written at once, unless frames of the same chunk are still to be parsed (or their replies
    // wait): then once it is, in order, so that the chunk's replies leave together and a flood
    // is answered no faster than the kernel takes the replies.
    else if (this.deferred === 0 && unparsedBytesOf(this.socket) === 0) this.reply(result.body, limit.held);
    else {
      this.deferred++;
      queueMicrotask(() => {
        this.deferred--;
        this.reply(result.body, limit.held);
      });
    }
  }

  /**
   * Writes a reply; its `held` requests stay in flight until it is written. While other requests
   * are in flight, the TCP socket is corked until the end of the tick, so that the replies of one
   * tick leave in one `writev`; the only reply owed is sent at once.
   */
  private reply(body: string | undefined, held: number): void {
    this.backpressure.sending(held);
    const socket = this.socket;
    if (body === undefined || socket.readyState !== WebSocket.OPEN) {
      this.written(held);
      return;
    }
    if (this.flushing || this.backpressure.inFlight > held) {
      if (!this.flushing) {
        this.flushing = true;
        tcpSocketOf(socket)?.cork();
        process.nextTick(this.flushTick);
      }
      this.heldUnflushed += held;
    }
    sendText(socket, body, false);
    if (!this.flushing) this.handedOver(held);
    this.backpressure.sent();
  }

  /** End of the tick: uncorks; the replies sent in it are written. */
  private readonly flushTick = (): void => {
    this.flushing = false;
    const held = this.heldUnflushed;
    this.heldUnflushed = 0;
    tcpSocketOf(this.socket)?.uncork();
    this.handedOver(held);
  };

  /** Replies of `held` requests were sent: written now if the kernel took them, else once it has. */
  private handedOver(held: number): void {
    const tcp = tcpSocketOf(this.socket);
    if (tcp === undefined || tcp.destroyed || this.socket.bufferedAmount === 0) this.written(held);
    // An empty write completes after every write before it (or fails when the socket is destroyed).
    else tcp.write(EMPTY, () => this.written(held));
  }

  private written(count: number): void {
    this.backpressure.written(count);
    // A long call just answered: the idle time starts now, not at its request.
    if (count > 0 && this.backpressure.inFlight === 0) this.touched = true;
  }
}
