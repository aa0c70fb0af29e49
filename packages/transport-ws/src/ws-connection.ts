import {
  type ClientConnection,
  type ConnectionEvent,
  ConnectionEvents,
  type ConnectionStatus,
  type ConnectOptions,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type PendingCall,
  PendingCalls,
  type PingOptions,
  Reconnector,
  type RpcError,
  type SendOptions,
  type TimerHandle,
  type TransportCapabilities,
  validateResponse,
} from '@resilient-rpc/core';
import { requestText } from '@resilient-rpc/core/transport';
import WebSocket from 'ws';
import { corkedSend } from './corked-send.js';
import {
  aborted,
  bufferFull,
  closedByClient,
  closedDuringHandshake,
  connectFailed,
  gaveUp,
  malformedResponse,
  noPong,
  notOpen,
  peerSilent,
  pingFailed,
  queueFull,
  sendFailed,
  socketClosed,
  timedOut,
  unserialisable,
  upgradeRefused,
} from './map-error.js';
import type { ResolvedWsClientOptions } from './ws-transport.js';

/**
 * How much later than `timeoutMs` a call's own timer fires: the attempt's signal is the primary
 * deadline, so the core's reason always wins the race; the timer settles a caller without one.
 */
const BACKSTOP_GRACE_MS = 250;

/**
 * A written call's abort signal is read only once it has waited this long, ms: most calls are
 * answered sooner and never make the core create their signal (see `watchSignalAfterMs`).
 */
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
  private currentStatus: ConnectionStatus = 'idle';
  private socket: WebSocket | undefined;
  /** Every call not settled yet, by wire id (a batch by a key of its own), queued or written. */
  private readonly pending: PendingCalls<number, Answer, WsCall>;
  /** Wire ids of calls waiting for the socket to open, in order. */
  private readonly queue = new Set<number>();
  /** A batch member's wire id → the batch's key in `pending`. */
  private readonly batchOf = new Map<number, number>();
  /** Pings waiting for a pong: any pong answers all of them (pings carry no id). */
  private readonly pings: PendingCalls<number, void>;
  private readonly pingKeys = new Set<number>();
  private readonly events = new ConnectionEvents();
  private readonly reconnector: Reconnector<WebSocket>;
  private gaveUp = false;
  private dropJitter: TimerHandle | undefined;
  private nextId = 1;
  private closed = false;
  private connecting = false;
  private heartbeat: TimerHandle | undefined;
  private lastInboundAt = 0;
  /** Something arrived since the last heartbeat tick (a flag: no clock read per message). */
  private heardFrom = false;
  private lastTickAt = 0;
  private unansweredPingAt: number | undefined;
  private lastError: RpcError | undefined;

  constructor(
    readonly url: string,
    private readonly options: ResolvedWsClientOptions,
    private readonly connectOptions: ConnectOptions,
  ) {
    // A queued call leaves the queue as it settles, so that `maxQueued` counts live calls only.
    const settled = (call: PendingCall<Answer, WsCall>) => {
      if (!call.context.written) this.queue.delete(call.id as number);
      return call.context;
    };
    this.pending = new PendingCalls(
      connectOptions.clock,
      {
        timeout: (call) => timedOut(url, settled(call).written, call.context.timeoutMs),
        aborted: (call) => aborted(url, settled(call).written),
      },
      { watchSignalAfterMs: WATCH_SIGNAL_AFTER_MS },
    );
    const pingOver = (call: PendingCall<void, undefined>, timeoutMs?: number) => {
      this.pingKeys.delete(call.id as number);
      return noPong(url, timeoutMs);
    };
    this.pings = new PendingCalls(connectOptions.clock, {
      timeout: (call) => pingOver(call, call.timeoutMs),
      aborted: (call) => pingOver(call),
    });
    this.reconnector = new Reconnector(
      (signal) =>
        this.openSocket(signal).catch((error: unknown) => {
          // Connect refused: nothing queued was written, so it may go elsewhere at once.
          throw this.failConnect(error, this.closed ? undefined : 'reconnecting');
        }),
      {
        baseMs: options.reconnectBaseMs,
        capMs: options.reconnectCapMs,
        maxAttempts: options.reconnectMaxAttempts,
        stableAfterMs: options.stableAfterMs,
        discard: (socket) => socket.terminate(),
      },
      connectOptions.clock,
      connectOptions.random,
    );
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** Connect attempts since the last stable connection (for tests and metrics). */
  get reconnectAttempts(): number {
    return this.reconnector.attempts;
  }

  /** The last error that closed or refused the connection (diagnostics). */
  get error(): RpcError | undefined {
    return this.lastError;
  }

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    return this.events.add(listener);
  }

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    // Serialised before anything else: params that cannot be (BigInt, a cycle) fail at once as a
    // protocol error, never queued, sent or retried.
    const key = this.nextId++;
    const oneWay = !Object.hasOwn(request, 'id');
    let frame: string;
    try {
      frame = requestText(request, this.options.meta ? options.metadata : null, oneWay ? undefined : key);
    } catch (cause) {
      return Promise.reject(unserialisable(this.url, cause));
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
      return Promise.reject(unserialisable(this.url, cause));
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

  /**
   * Registers a call and writes it now if the socket is open (its signal read only if it is
   * still waiting `WATCH_SIGNAL_AFTER_MS` later), or queues it until the socket opens (its signal
   * watched at once: an abandoned call must never be written later).
   */
  private submit<T extends Answer>(
    key: number,
    options: SendOptions,
    frame: string,
    callerId: JsonRpcId | undefined,
    batch: WsCall['batch'],
    oneWay: boolean,
  ): Promise<T> {
    if (this.closed) return Promise.reject(notOpen(this.url, 'the connection is closed'));
    // The promise's functions are taken without a closure per call (see `capture`).
    const promise = new Promise<T>(capture);
    const resolve = captured.resolve!;
    const reject = captured.reject!;
    const call: WsCall = { frame, timeoutMs: options.timeoutMs, callerId, batch, oneWay, written: false };
    const waitMs = call.timeoutMs + BACKSTOP_GRACE_MS;
    if (this.currentStatus === 'open') {
      this.pending.add(key, call, waitMs, options, resolve, reject, options.startedAt);
      this.write(key, call);
      return promise;
    }
    const signal = options.signal;
    if (signal.aborted) reject(aborted(this.url, false));
    else if (this.gaveUp) {
      this.ensureConnecting();
      reject(gaveUp(this.url, this.lastError));
    } else if (this.queue.size >= this.options.maxQueued) reject(queueFull(this.url, this.queue.size));
    else {
      this.pending.add(key, call, waitMs, signal, resolve, reject, options.startedAt);
      this.queue.add(key);
      this.ensureConnecting();
    }
    return promise;
  }

  private write(key: number, call: WsCall): void {
    const socket = this.socket;
    let error: RpcError | undefined;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN)
      error = notOpen(this.url, 'the socket is not open');
    else if (socket.bufferedAmount > this.options.maxBufferedBytes)
      error = bufferFull(this.url, socket.bufferedAmount, this.options.maxBufferedBytes);
    else {
      call.written = true;
      try {
        // The only call in flight (c = 1) is sent at once; with others, frames of one tick are corked together.
        corkedSend(socket, Buffer.from(call.frame), this.pending.size === 1);
      } catch (cause) {
        error = sendFailed(this.url, cause);
      }
    }
    if (error !== undefined) this.pending.reject(key, error);
    else if (call.oneWay) this.pending.resolve(key, call.batch === undefined ? undefined : []);
  }

  ping(options: PingOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = this.socket;
      if (this.currentStatus !== 'open' || socket === undefined) {
        this.ensureConnecting();
        return reject(notOpen(this.url, 'the socket is not open'));
      }
      if (options.signal.aborted) return reject(noPong(this.url));
      const key = this.nextId++;
      this.pings.add(key, undefined, options.timeoutMs, options.signal, resolve, reject);
      this.pingKeys.add(key);
      try {
        socket.ping();
      } catch (error) {
        this.pingKeys.delete(key);
        this.pings.reject(key, pingFailed(this.url, error));
      }
    });
  }

  /** @internal Whether `close()` was called (a connection that gave up also reports `closed`). */
  get closedByOwner(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropJitter?.cancel();
    this.reconnector.stop();
    this.fail(false, closedByClient(this.url, false));
    const socket = this.socket;
    this.detach(closedByClient(this.url, true));
    this.setStatus('closed');
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = this.connectOptions.clock.setTimeout(() => {
        socket.terminate();
        resolve();
      }, CLOSE_WAIT_MS);
      socket.once('close', () => {
        timer.cancel();
        resolve();
      });
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(1000, 'client closing');
    });
  }

  // --- connection life cycle -------------------------------------------------------------

  /** @internal */
  ensureConnecting(): void {
    if (this.closed || this.currentStatus === 'open' || this.connecting || this.dropJitter) return;
    this.connecting = true;
    if (this.currentStatus === 'idle') this.setStatus('connecting');
    this.reconnector.reconnect().then(
      (socket) => {
        this.connecting = false;
        this.gaveUp = false;
        this.attach(socket);
      },
      (error: unknown) => {
        this.connecting = false;
        if (this.closed) return;
        // Gave up after maxAttempts: fail what waits; the next call starts a new run.
        this.gaveUp = true;
        this.failConnect(error, 'closed');
      },
    );
  }

  /** A connect attempt (or the run) failed: nothing queued was written; fail it and report. */
  private failConnect(error: unknown, status: ConnectionStatus | undefined): RpcError {
    const rpcError = connectFailed(this.url, error);
    this.lastError = rpcError;
    this.fail(false, rpcError);
    if (status !== undefined) this.setStatus(status, rpcError);
    return rpcError;
  }

  /** Opens one socket; resolves once the handshake completed, rejects if it failed. */
  private openSocket(signal: AbortSignal): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      if (this.closed || signal.aborted) return reject(notOpen(this.url, 'the connection is closed'));
      const socket = new WebSocket(this.url, {
        ...this.options.tls,
        headers: { ...this.options.headers, ...this.connectOptions.headers },
        perMessageDeflate: false,
        handshakeTimeout: this.options.handshakeTimeoutMs,
        maxPayload: this.options.maxPayload,
        followRedirects: false,
      });
      const finish = (error?: Error) => {
        for (const event of HANDSHAKE_EVENTS) socket.removeAllListeners(event);
        if (error === undefined && !this.closed) return resolve(socket);
        socket.on('error', () => {});
        if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
        reject(error ?? notOpen(this.url, 'the connection is closed'));
      };
      socket.on('open', () => finish());
      socket.on('error', finish);
      socket.on('close', (code) => finish(closedDuringHandshake(code)));
      socket.on('unexpected-response', (_request, response) =>
        finish(upgradeRefused(this.url, response.statusCode ?? 0)),
      );
    });
  }

  private attach(socket: WebSocket): void {
    if (this.closed) {
      socket.terminate();
      return;
    }
    this.socket = socket;
    this.reconnector.connected();
    const now = this.connectOptions.clock.now();
    this.lastInboundAt = now;
    this.lastTickAt = now;
    this.heardFrom = false;
    this.unansweredPingAt = undefined;
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('pong', () => {
      this.heard();
      for (const key of this.pingKeys) this.pings.resolve(key);
      this.pingKeys.clear();
    });
    socket.on('ping', () => this.heard());
    socket.on('error', () => {
      // 'close' always follows; the error is reported there.
    });
    socket.on('close', (code, reason) => {
      if (this.socket === socket) this.drop(socketClosed(this.url, code, reason.toString()));
    });
    this.scheduleTick();
    this.lastError = undefined;
    this.setStatus('open');
    const queued = [...this.queue];
    this.queue.clear();
    for (const key of queued) {
      const call = this.pending.get(key);
      if (call !== undefined) this.write(key, call.context);
    }
  }

  private scheduleTick(): void {
    this.heartbeat = this.connectOptions.clock.setTimeout(() => {
      this.tick();
      if (this.socket) this.scheduleTick();
    }, this.options.heartbeatIntervalMs);
  }

  /** Heartbeat: ping when idle; terminate a peer that left a ping unanswered past the timeout. */
  private tick(): void {
    const socket = this.socket;
    if (!socket) return;
    const { heartbeatIntervalMs: interval, heartbeatTimeoutMs: timeout } = this.options;
    const now = this.connectOptions.clock.now();
    const lag = now - this.lastTickAt - interval;
    this.lastTickAt = now;
    if (this.heardFrom) {
      // Heard from since the last tick: on the tick's scale, that is now.
      this.heardFrom = false;
      this.lastInboundAt = now;
      this.unansweredPingAt = undefined;
    }
    // Our own event loop stalled: the silence may be ours, not the peer's. Judge on the next tick.
    if (lag > interval) this.unansweredPingAt = undefined;
    else if (this.unansweredPingAt !== undefined && now - this.unansweredPingAt >= timeout)
      this.drop(peerSilent(this.url, now - this.lastInboundAt, timeout));
    else if (this.unansweredPingAt === undefined && now - this.lastInboundAt >= interval) {
      this.unansweredPingAt = now;
      try {
        socket.ping();
      } catch {
        // The socket is closing; 'close' follows.
      }
    }
  }

  /** A frame that answers no call arrived: the peer is alive. */
  private heard(): void {
    this.heardFrom = true;
    this.events.emit(ACTIVITY);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.heardFrom = true;
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
      this.pending.reject(key, malformedResponse(this.url, error));
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

  /** The socket is gone: settle everything at once, then reconnect in the background. */
  private drop(error: RpcError): void {
    const socket = this.socket;
    if (!socket) return;
    this.detach(error);
    socket.terminate();
    this.reconnector.disconnected();
    if (this.closed) return;
    this.lastError = error;
    this.setStatus('reconnecting', error);
    // Spread the first attempt too: every client of a restarting server sees the drop at once.
    this.dropJitter?.cancel();
    this.dropJitter = this.connectOptions.clock.setTimeout(() => {
      this.dropJitter = undefined;
      this.ensureConnecting();
    }, this.connectOptions.random() * this.options.reconnectBaseMs);
  }

  /** Forgets the socket and fails every written call with `error`. */
  private detach(error: RpcError): void {
    const socket = this.socket;
    this.socket = undefined;
    this.heartbeat?.cancel();
    this.heartbeat = undefined;
    for (const event of ['message', 'pong', 'ping'] as const) socket?.removeAllListeners(event);
    // Queued calls stay queued for the next socket; written ones may have been processed.
    this.fail(true, error);
  }

  /** Fails the written calls, or the queued ones (every call not written is queued). */
  private fail(written: boolean, error: RpcError): void {
    if (!written) this.queue.clear();
    this.pending.rejectAll(
      () => error,
      (call) => call.context.written === written,
    );
  }

  private setStatus(status: ConnectionStatus, error?: RpcError): void {
    if (this.currentStatus === status && error === undefined) return;
    this.currentStatus = status;
    this.events.status(status, error);
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
