import {
  type ClientConnection,
  type ConnectionEvent,
  type ConnectionStatus,
  type ConnectOptions,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type PendingCall,
  PendingCalls,
  type PingOptions,
  type RpcError,
  type SendOptions,
  type TransportCapabilities,
  validateResponse,
} from '@resilient-rpc/core';
import { PersistentConnection, requestText, SilenceWatch } from '@resilient-rpc/core/transport';
import WebSocket from 'ws';
import { corkedSend } from './corked-send.js';
import { CloseCodes } from './defaults.js';
import * as errors from './map-error.js';
import type { ResolvedWsClientOptions } from './ws-transport.js';

/** A call's own timer fires this much after `timeoutMs`: the core's deadline wins; it settles the rest. */
const BACKSTOP_GRACE_MS = 250;

/** A written call's abort signal is made and read only after this long, ms: most are answered sooner. */
const WATCH_SIGNAL_AFTER_MS = 10;

/** How long `close()` waits for the closing handshake before it terminates the socket, ms. */
const CLOSE_WAIT_MS = 1_000;

const CAPABILITIES: TransportCapabilities = { batch: true, ping: true, persistentConnection: true };

/** What the pending-call table keeps with one send: a request, a batch or a notification. */
interface WsCall {
  /** The frame to write, wire ids in place. */
  readonly frame: string;
  readonly timeoutMs: number;
  /** The caller's id, restored on the response of a single request. */
  readonly callerId: JsonRpcId | undefined;
  /** A batch's requests still unanswered (wire id → caller id) and its responses so far. */
  readonly batch:
    | { readonly members: Map<number, JsonRpcId>; readonly responses: JsonRpcResponse[] }
    | undefined;
  /** Nothing answers it (a notification, a batch of notifications): settled once written. */
  readonly oneWay: boolean;
  /** Handed to the socket (so the server may have it). */
  written: boolean;
}

type Answer = JsonRpcResponse | JsonRpcResponse[] | undefined;

/**
 * One WebSocket to one endpoint, shared by every call to it. Requests are written with
 * connection-unique numeric ids and matched back by them in the core's pending-call table; the
 * caller's id is restored. Calls made before the socket opens wait in a queue (`maxQueued`).
 */
export class WsConnection implements ClientConnection {
  readonly capabilities = CAPABILITIES;
  /** Every call not settled yet, by wire id (a batch by a key of its own), queued or written. */
  private readonly pending: PendingCalls<number, Answer, WsCall>;
  /** A batch member's wire id → the batch's key in `pending`. */
  private readonly batchOf = new Map<number, number>();
  /** Pings waiting for a pong, keys `pongedUpTo` up: any pong answers all of them (pings carry no id). */
  private readonly pings: PendingCalls<number, void>;
  private pongedUpTo = 0;
  private nextPing = 0;
  /** Status, pre-open queue, reconnects and close: the socket's life cycle. */
  private readonly life: PersistentConnection<WebSocket, number>;
  private readonly silence: SilenceWatch;
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly options: ResolvedWsClientOptions,
    private readonly connectOptions: ConnectOptions,
    /** Called when `close()` is (the transport forgets the connection). */
    private readonly onClose: () => void = () => {},
  ) {
    // A queued call leaves the queue as it settles, so that `maxQueued` counts live calls only.
    const settled = (call: PendingCall<Answer, WsCall>) => {
      if (!call.context.written) this.life.dequeue(call.id as number);
      return call.context;
    };
    this.pending = new PendingCalls(
      connectOptions.clock,
      {
        timeout: (call) => errors.timedOut(url, settled(call).written, call.context.timeoutMs),
        aborted: (call) => errors.aborted(url, settled(call).written),
      },
      { watchSignalAfterMs: WATCH_SIGNAL_AFTER_MS },
    );
    this.pings = new PendingCalls(connectOptions.clock, {
      timeout: (call) => errors.noPong(url, call.timeoutMs),
      aborted: () => errors.noPong(url),
    });
    this.life = new PersistentConnection<WebSocket, number>({
      endpoint: url,
      clock: connectOptions.clock,
      random: connectOptions.random,
      reconnect: {
        baseMs: options.reconnectBaseMs,
        capMs: options.reconnectCapMs,
        maxAttempts: options.reconnectMaxAttempts,
        stableAfterMs: options.stableAfterMs,
      },
      maxQueued: options.maxQueued,
      open: (signal) => this.openSocket(signal),
      attached: (socket) => this.attach(socket),
      detached: (socket) => {
        this.silence.stop();
        for (const event of ['message', 'pong', 'ping'] as const) socket.removeAllListeners(event);
      },
      terminate: (socket) => socket.terminate(),
      write: (key) => {
        const call = this.pending.get(key);
        if (call !== undefined) this.write(key, call.context);
      },
      fail: (written, error) =>
        this.pending.rejectAll(
          () => error,
          (call) => call.context.written === written,
        ),
    });
    this.silence = new SilenceWatch({
      clock: connectOptions.clock,
      intervalMs: options.heartbeatIntervalMs,
      timeoutMs: options.heartbeatTimeoutMs,
      // ws throws only on a socket still connecting; one attached never is (closing: ws ignores it).
      ping: () => this.life.connection?.ping(),
      silent: (silentMs) => this.life.drop(errors.peerSilent(url, silentMs, options.heartbeatTimeoutMs)),
    });
  }

  get status(): ConnectionStatus {
    return this.life.status;
  }

  /** Connect attempts since the last stable connection (for tests and metrics). */
  get reconnectAttempts(): number {
    return this.life.attempts;
  }

  /** The last error that closed or refused the connection (diagnostics). */
  get error(): RpcError | undefined {
    return this.life.error;
  }

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    return this.life.events.add(listener);
  }

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    // Serialised first: params that cannot be (BigInt, a cycle) fail at once, never queued or retried.
    const key = this.nextId++;
    const oneWay = !Object.hasOwn(request, 'id');
    let frame: string;
    try {
      frame = requestText(request, this.options.meta ? options.metadata : null, oneWay ? undefined : key);
    } catch (cause) {
      return Promise.reject(errors.unserialisable(this.url, cause));
    }
    return this.submit(key, options, frame, request.id, undefined, oneWay);
  }

  sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    const members = new Map<number, JsonRpcId>();
    const metadata = this.options.meta ? options.metadata : null; // read once: the core builds it on each read
    let items: string[];
    try {
      items = requests.map((request) => {
        const wireId = Object.hasOwn(request, 'id') ? this.nextId++ : undefined;
        if (wireId !== undefined) members.set(wireId, request.id as JsonRpcId);
        return requestText(request, metadata, wireId);
      });
    } catch (cause) {
      return Promise.reject(errors.unserialisable(this.url, cause));
    }
    const key = this.nextId++;
    for (const wireId of members.keys()) this.batchOf.set(wireId, key);
    const forget = () => {
      for (const wireId of members.keys()) this.batchOf.delete(wireId);
    };
    const batch = { members, responses: [] };
    const frame = `[${items.join(',')}]`;
    const answer = this.submit<JsonRpcResponse[]>(key, options, frame, undefined, batch, members.size === 0);
    answer.then(forget, forget);
    return answer;
  }

  /** Writes a call now, or queues it (its signal watched at once: never written if abandoned). */
  private submit<T extends Answer>(
    key: number,
    options: SendOptions,
    frame: string,
    callerId: JsonRpcId | undefined,
    batch: WsCall['batch'],
    oneWay: boolean,
  ): Promise<T> {
    // The promise's functions are taken without a closure per call (see `capture`).
    const promise = new Promise<T>(capture);
    const resolve = captured.resolve!;
    const reject = captured.reject!;
    const call: WsCall = { frame, timeoutMs: options.timeoutMs, callerId, batch, oneWay, written: false };
    const waitMs = call.timeoutMs + BACKSTOP_GRACE_MS;
    if (this.life.status === 'open') {
      this.pending.add(key, call, waitMs, options, resolve, reject, options.startedAt);
      this.write(key, call);
      return promise;
    }
    const refusal = this.life.refusal(options);
    if (refusal !== undefined) reject(refusal);
    else {
      this.pending.add(key, call, waitMs, options.signal, resolve, reject, options.startedAt);
      this.life.enqueue(key);
    }
    return promise;
  }

  private write(key: number, call: WsCall): void {
    const socket = this.life.connection;
    let error: RpcError | undefined;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN)
      error = errors.notOpen(this.url, 'the socket is not open');
    else if (socket.bufferedAmount > this.options.maxBufferedBytes)
      error = errors.bufferFull(this.url, socket.bufferedAmount, this.options.maxBufferedBytes);
    else {
      call.written = true;
      try {
        // The only call in flight (c = 1) is sent at once; with others, frames of one tick are corked together.
        corkedSend(socket, call.frame, this.pending.size === 1);
      } catch (cause) {
        error = errors.sendFailed(this.url, cause);
      }
    }
    if (error !== undefined) this.pending.reject(key, error);
    else if (call.oneWay) this.pending.resolve(key, call.batch === undefined ? undefined : []);
  }

  ping(options: PingOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // The socket is the life cycle's only while it is open.
      const socket = this.life.connection;
      if (socket === undefined) {
        this.life.ensureConnecting();
        return reject(errors.notOpen(this.url, 'the socket is not open'));
      }
      if (options.signal.aborted) return reject(errors.noPong(this.url));
      this.pings.add(this.nextPing++, undefined, options.timeoutMs, options.signal, resolve, reject);
      socket.ping(); // an attached socket: ws does not throw (see the heartbeat's)
    });
  }

  async close(): Promise<void> {
    this.onClose();
    // Only an attached socket is returned: open or closing (its 'close' detaches it; never connecting).
    const socket = this.life.close();
    if (socket === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = this.connectOptions.clock.setTimeout(resolve, CLOSE_WAIT_MS);
      socket.once('close', () => {
        timer.cancel();
        resolve();
      });
      socket.close(CloseCodes.Normal, 'client closing');
    });
    socket.terminate(); // no closing handshake within CLOSE_WAIT_MS (nothing to do once closed)
  }

  /**
   * Never called once closed. `signal` aborts on `close()`: a handshake under way ends at once (not
   * after `handshakeTimeoutMs`); a socket that opened meanwhile is terminated by the core.
   */
  private openSocket(signal: AbortSignal): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(this.url, {
        ...this.options.tls,
        headers: { ...this.options.headers, ...this.connectOptions.headers },
        perMessageDeflate: false,
        handshakeTimeout: this.options.handshakeTimeoutMs,
        maxPayload: this.options.maxPayload,
        followRedirects: false,
      });
      // (The signal serves every attempt of the connection: its listener goes with the handshake.)
      const abandon = () => socket.terminate(); // while connecting: ws emits 'error', then 'close'
      const finish = (error?: Error) => {
        signal.removeEventListener('abort', abandon);
        for (const event of HANDSHAKE_EVENTS) socket.removeAllListeners(event);
        // From now on 'close' follows every error and reports it (a socket discarded too).
        socket.on('error', () => {});
        if (error === undefined) return resolve(socket);
        if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
        reject(error);
      };
      signal.addEventListener('abort', abandon, { once: true });
      socket.on('open', () => finish());
      socket.on('error', finish);
      socket.on('close', (code) => finish(errors.closedDuringHandshake(code)));
      socket.on('unexpected-response', (_request, response) =>
        finish(errors.upgradeRefused(this.url, response.statusCode ?? 0)),
      );
    });
  }

  private attach(socket: WebSocket): void {
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('pong', () => {
      this.heard();
      while (this.pongedUpTo < this.nextPing) this.pings.resolve(this.pongedUpTo++);
    });
    socket.on('ping', () => this.heard());
    socket.on('close', (code, reason) => {
      if (this.life.connection === socket)
        this.life.drop(errors.socketClosed(this.url, code, reason.toString()));
    });
    this.silence.start();
  }

  /** A frame that answers no call arrived: the peer is alive. */
  private heard(): void {
    this.silence.heard = true;
    this.life.events.emit(ACTIVITY);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.silence.heard = true;
    let value: unknown;
    try {
      if (!isBinary) value = JSON.parse(data.toString());
    } catch {
      // Not JSON: delivered as nothing, it answers no call.
    }
    if (Array.isArray(value)) for (const item of value) this.deliver(item);
    else this.deliver(value);
  }

  private deliver(value: unknown): void {
    const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
    const key =
      typeof id !== 'number' ? undefined : this.batchOf.size === 0 ? id : (this.batchOf.get(id) ?? id);
    const call = key === undefined ? undefined : this.pending.get(key);
    // An error without an id (e.g. -32700 for a frame we did not send) or a late response.
    if (key === undefined || call === undefined || !call.context.written) {
      this.heard();
      return;
    }
    let response: JsonRpcResponse;
    try {
      response = validateResponse(value);
    } catch (error) {
      this.pending.reject(key, errors.malformedResponse(this.url, error));
      return;
    }
    const batch = call.context.batch;
    if (batch === undefined) {
      response.id = call.context.callerId ?? null;
      this.pending.resolve(key, response);
      return;
    }
    const callerId = batch.members.get(id as number);
    if (callerId === undefined) return; // a second answer to the same request
    batch.members.delete(id as number);
    this.batchOf.delete(id as number);
    batch.responses.push({ ...response, id: callerId });
    if (batch.members.size === 0) this.pending.resolve(key, batch.responses);
  }
}

const ACTIVITY: ConnectionEvent = Object.freeze({ type: 'activity' });

/** Where {@link capture} leaves a new promise's functions (no closure per call). */
const captured: {
  resolve: ((answer: Answer) => void) | undefined;
  reject: ((error: RpcError) => void) | undefined;
} = { resolve: undefined, reject: undefined };

function capture(resolve: (answer: never) => void, reject: (error: RpcError) => void): void {
  captured.resolve = resolve as (answer: Answer) => void;
  captured.reject = reject;
}

const HANDSHAKE_EVENTS = ['open', 'error', 'close', 'unexpected-response'] as const;
