import {
  type ClientConnection,
  type ConnectionEvent,
  type ConnectionStatus,
  type ConnectOptions,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
  PendingCalls,
  type PingOptions,
  Reconnector,
  type RpcError,
  type SendOptions,
  type TimerHandle,
  type TransportCapabilities,
  validateResponse,
  type WireMetadata,
} from '@resilient-rpc/core';
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
  /** The attempt's time, ms. */
  readonly timeoutMs: number;
  /** The caller's id, restored on the response of a single request. */
  readonly callerId: JsonRpcId | undefined;
  /** A batch's requests still unanswered (wire id → caller id) and its responses so far. */
  readonly batch:
    | { readonly members: Map<number, JsonRpcId>; readonly responses: JsonRpcResponse[] }
    | undefined;
  /** Nothing answers it (a notification, a batch of notifications): settled once written. */
  readonly oneWay: boolean;
  /** True once the frame was handed to the socket (so the server may have it). */
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
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private readonly pingWaiters = new Set<() => void>();
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
    this.pending = new PendingCalls(
      connectOptions.clock,
      {
        // A queued call leaves the queue as it settles, so that `maxQueued` counts live calls only.
        timeout: (call) => {
          if (!call.context.written) this.queue.delete(call.id as number);
          return timedOut(url, call.context.written, call.context.timeoutMs);
        },
        aborted: (call) => {
          if (!call.context.written) this.queue.delete(call.id as number);
          return aborted(url, call.context.written);
        },
      },
      { watchSignalAfterMs: WATCH_SIGNAL_AFTER_MS },
    );
    this.reconnector = new Reconnector(
      (signal) =>
        this.openSocket(signal).catch((error: unknown) => {
          // Connect refused: nothing queued was written, so it may go elsewhere at once.
          const rpcError = connectFailed(url, error);
          this.lastError = rpcError;
          this.failQueue(rpcError);
          if (!this.closed) this.setStatus('reconnecting', rpcError);
          throw rpcError;
        }),
      {
        baseMs: options.reconnectBaseMs,
        capMs: options.reconnectCapMs,
        multiplier: 2,
        jitter: 'full',
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

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    // Serialised before anything else: params that cannot be (BigInt, a cycle) fail at once as a
    // protocol error, never queued, sent or retried.
    const key = this.nextId++;
    const oneWay = !Object.hasOwn(request, 'id');
    let frame: string;
    try {
      frame = encodeRequest(request, options.metadata, this.options.meta, oneWay ? undefined : key);
    } catch (cause) {
      return Promise.reject(unserialisable(this.url, cause));
    }
    const call: WsCall = {
      frame,
      timeoutMs: options.timeoutMs,
      callerId: request.id,
      batch: undefined,
      oneWay,
      written: false,
    };
    return this.submit(key, call, options) as Promise<JsonRpcResponse | undefined>;
  }

  sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    const members = new Map<number, JsonRpcId>();
    const metadata = options.metadata; // read once: the core builds it on each read
    let items: string[];
    try {
      items = requests.map((request) => {
        if (!Object.hasOwn(request, 'id'))
          return encodeRequest(request, metadata, this.options.meta, undefined);
        const wireId = this.nextId++;
        members.set(wireId, request.id as JsonRpcId);
        return encodeRequest(request, metadata, this.options.meta, wireId);
      });
    } catch (cause) {
      return Promise.reject(unserialisable(this.url, cause));
    }
    const key = this.nextId++;
    const call: WsCall = {
      frame: `[${items.join(',')}]`,
      timeoutMs: options.timeoutMs,
      callerId: undefined,
      batch: { members, responses: [] },
      oneWay: members.size === 0,
      written: false,
    };
    for (const wireId of members.keys()) this.batchOf.set(wireId, key);
    const forget = () => {
      for (const wireId of members.keys()) this.batchOf.delete(wireId);
    };
    const answer = this.submit(key, call, options) as Promise<JsonRpcResponse[]>;
    answer.then(forget, forget);
    return answer;
  }

  /**
   * Registers a call and writes it now if the socket is open (its signal read only if it is
   * still waiting `WATCH_SIGNAL_AFTER_MS` later), or queues it until the socket opens (its signal
   * watched at once: an abandoned call must never be written later).
   */
  private submit(key: number, call: WsCall, options: SendOptions): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      if (this.closed) return reject(notOpen(this.url, 'the connection is closed'));
      const waitMs = call.timeoutMs + BACKSTOP_GRACE_MS;
      if (this.currentStatus === 'open') {
        this.pending.add(key, call, waitMs, options, resolve, reject);
        return this.write(key, call);
      }
      const signal = options.signal;
      if (signal.aborted) return reject(aborted(this.url, false));
      if (this.gaveUp) {
        this.ensureConnecting();
        return reject(gaveUp(this.url, this.lastError));
      }
      if (this.queue.size >= this.options.maxQueued) return reject(queueFull(this.url, this.queue.size));
      this.pending.add(key, call, waitMs, signal, resolve, reject);
      this.queue.add(key);
      this.ensureConnecting();
    });
  }

  private write(key: number, call: WsCall): void {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      this.pending.reject(key, notOpen(this.url, 'the socket is not open'));
      return;
    }
    const bound = this.options.maxBufferedBytes;
    if (socket.bufferedAmount > bound) {
      this.pending.reject(key, bufferFull(this.url, socket.bufferedAmount, bound));
      return;
    }
    call.written = true;
    try {
      corkedSend(socket, Buffer.from(call.frame));
    } catch (error) {
      this.pending.reject(key, sendFailed(this.url, error));
      return;
    }
    if (call.oneWay) this.pending.resolve(key, call.batch === undefined ? undefined : []);
  }

  ping(options: PingOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = this.socket;
      if (this.currentStatus !== 'open' || socket === undefined) {
        this.ensureConnecting();
        return reject(notOpen(this.url, 'the socket is not open'));
      }
      let timer: TimerHandle | undefined;
      const finish = (error?: RpcError) => {
        this.pingWaiters.delete(waiter);
        timer?.cancel();
        options.signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const waiter = () => finish();
      const onAbort = () => finish(noPong(this.url));
      if (options.signal.aborted) return onAbort();
      options.signal.addEventListener('abort', onAbort, { once: true });
      timer = this.connectOptions.clock.setTimeout(
        () => finish(noPong(this.url, options.timeoutMs)),
        options.timeoutMs,
      );
      this.pingWaiters.add(waiter);
      try {
        socket.ping();
      } catch (error) {
        finish(pingFailed(this.url, error));
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropJitter?.cancel();
    this.reconnector.stop();
    this.failQueue(closedByClient(this.url, false));
    const socket = this.socket;
    this.detach(closedByClient(this.url, true));
    this.setStatus('closed');
    if (socket && socket.readyState !== WebSocket.CLOSED) {
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
        const rpcError = connectFailed(this.url, error);
        this.gaveUp = true;
        this.lastError = rpcError;
        this.failQueue(rpcError);
        this.setStatus('closed', rpcError);
      },
    );
  }

  /** Opens one socket; resolves once the handshake completed, rejects if it failed. */
  private openSocket(signal: AbortSignal): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      if (this.closed || signal.aborted) return reject(notOpen(this.url, 'the connection is closed'));
      const headers = { ...this.options.headers, ...this.connectOptions.headers };
      const socket = new WebSocket(this.url, {
        ...this.options.tls,
        headers,
        perMessageDeflate: false,
        handshakeTimeout: this.options.handshakeTimeoutMs,
        maxPayload: this.options.maxPayload,
        followRedirects: false,
      });
      const onError = (error: Error) => finish(error);
      const onClose = (code: number) => finish(closedDuringHandshake(code));
      const onUnexpected = (_request: unknown, response: { statusCode?: number }) => {
        finish(upgradeRefused(this.url, response.statusCode ?? 0));
        socket.terminate();
      };
      const onOpen = () => finish();
      const finish = (error?: Error) => {
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.off('open', onOpen);
        socket.off('unexpected-response', onUnexpected);
        if (error) {
          socket.on('error', () => {});
          if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
          reject(error);
        } else if (this.closed) {
          socket.terminate();
          reject(notOpen(this.url, 'the connection is closed'));
        } else {
          resolve(socket);
        }
      };
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.on('open', onOpen);
      socket.on('unexpected-response', onUnexpected);
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
      this.alive();
      this.emit({ type: 'activity' });
      const waiters = [...this.pingWaiters];
      for (const waiter of waiters) waiter();
    });
    socket.on('ping', () => {
      this.alive();
      this.emit({ type: 'activity' });
    });
    socket.on('error', () => {
      // 'close' always follows; the error is reported there.
    });
    socket.on('close', (code, reason) => {
      if (this.socket !== socket) return;
      this.drop(socketClosed(this.url, code, reason.toString()));
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
    const now = this.connectOptions.clock.now();
    const lag = now - this.lastTickAt - this.options.heartbeatIntervalMs;
    this.lastTickAt = now;
    if (this.heardFrom) {
      // Heard from since the last tick: on the tick's scale, that is now.
      this.heardFrom = false;
      this.lastInboundAt = now;
      this.unansweredPingAt = undefined;
    }
    // Our own event loop stalled: the silence may be ours, not the peer's. Judge on the next tick.
    if (lag > this.options.heartbeatIntervalMs) {
      this.unansweredPingAt = undefined;
      return;
    }
    if (
      this.unansweredPingAt !== undefined &&
      now - this.unansweredPingAt >= this.options.heartbeatTimeoutMs
    ) {
      this.drop(peerSilent(this.url, now - this.lastInboundAt, this.options.heartbeatTimeoutMs));
      return;
    }
    if (this.unansweredPingAt === undefined && now - this.lastInboundAt >= this.options.heartbeatIntervalMs) {
      this.unansweredPingAt = now;
      try {
        socket.ping();
      } catch {
        // The socket is closing; 'close' follows.
      }
    }
  }

  private alive(): void {
    this.heardFrom = true;
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.alive();
    if (isBinary) {
      this.emit({ type: 'activity' });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data.toString());
    } catch {
      this.emit({ type: 'activity' });
      return;
    }
    if (Array.isArray(value)) for (const item of value) this.deliver(item);
    else this.deliver(value);
  }

  private deliver(value: unknown): void {
    const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
    const key =
      typeof id !== 'number' ? undefined : this.batchOf.size === 0 ? id : (this.batchOf.get(id) ?? id);
    const call = key === undefined ? undefined : this.pending.get(key);
    if (key === undefined || call === undefined || !call.context.written) {
      // An error without an id (e.g. -32700 for a frame we did not send) or a late response.
      this.emit({ type: 'activity' });
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
    if (socket) {
      socket.removeAllListeners('message');
      socket.removeAllListeners('pong');
      socket.removeAllListeners('ping');
    }
    // Queued calls stay queued for the next socket; written ones may have been processed.
    this.pending.rejectAll(
      () => error,
      (call) => call.context.written,
    );
  }

  private failQueue(error: RpcError): void {
    const queued = [...this.queue];
    this.queue.clear();
    for (const key of queued) this.pending.reject(key, error);
  }

  private setStatus(status: ConnectionStatus, error?: RpcError): void {
    if (this.currentStatus === status && error === undefined) return;
    this.currentStatus = status;
    this.emit(error ? { type: 'status', status, error } : { type: 'status', status });
  }

  private emit(event: ConnectionEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is not the connection's.
      }
    }
  }

  /** The last error that closed or refused the connection (diagnostics). */
  get error(): RpcError | undefined {
    return this.lastError;
  }
}

/**
 * The request as JSON: `"id": wireId` first (none for a notification), then its members as given
 * (a malformed request too: the server judges it) and the metadata merged into `meta`. Members
 * that are undefined are left out by JSON itself. Throws if params cannot be serialised.
 */
function encodeRequest(
  request: JsonRpcRequest,
  metadata: WireMetadata,
  sendMeta: boolean,
  wireId: number | undefined,
): string {
  let meta: WireMetadata | undefined;
  if (sendMeta) {
    meta = request.meta === undefined ? metadata : { ...request.meta, ...metadata };
    if (
      meta.deadlineMs === undefined &&
      meta.idempotent === undefined &&
      meta.attempt === undefined &&
      meta.traceId === undefined
    )
      meta = undefined;
  }
  return JSON.stringify({
    id: wireId,
    jsonrpc: request.jsonrpc,
    method: request.method,
    params: request.params,
    meta,
  });
}
