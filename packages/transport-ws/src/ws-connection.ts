import {
  type ClientConnection,
  type ConnectionEvent,
  ConnectionLostError,
  type ConnectionStatus,
  type ConnectOptions,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
  NotSentError,
  OverloadedError,
  type PingOptions,
  ProtocolError,
  Reconnector,
  RpcError,
  type SendOptions,
  TimeoutError,
  type TimerHandle,
  type TransportCapabilities,
  validateResponse,
  type WireMetadata,
} from '@resilient-rpc/core';
import WebSocket from 'ws';
import { corkedSend } from './corked-send.js';
import type { ResolvedWsClientOptions } from './ws-transport.js';

/** How much later than `timeoutMs` the per-call backstop timer fires. */
const BACKSTOP_GRACE_MS = 250;

const CAPABILITIES: TransportCapabilities = { batch: true, ping: true, persistentConnection: true };

/** A call waiting for its response on the socket, by wire id. */
interface Pending {
  /** Delivers the matched response (with the caller's original id restored). */
  settle(response: JsonRpcResponse): void;
  fail(error: RpcError): void;
}

/** A per-call deadline checked by the connection's sweeper (cheaper than one timer per call). */
interface Backstop {
  readonly at: number;
  readonly fire: () => void;
}

/** How often the backstop sweeper runs while calls are pending. */
const SWEEP_INTERVAL_MS = 50;

/** A message waiting for the socket to open. */
interface Queued {
  /** Writes the message once open; returns false if it failed (and settled). */
  write(): void;
  fail(error: RpcError): void;
}

/**
 * One WebSocket to one endpoint, shared by every call to it. Requests are written with
 * connection-unique numeric ids and matched back by them; the caller's id is restored.
 */
export class WsConnection implements ClientConnection {
  readonly capabilities = CAPABILITIES;
  /** @internal */
  currentStatus: ConnectionStatus = 'idle';
  /** @internal */
  socket: WebSocket | undefined;
  /** @internal */
  readonly pending = new Map<number, Pending>();
  /** @internal */
  readonly queue = new Set<Queued>();
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private readonly pingWaiters = new Set<() => void>();
  private readonly reconnector: Reconnector<WebSocket>;
  /** @internal */
  gaveUp = false;
  private dropJitter: TimerHandle | undefined;
  /** @internal */
  nextId = 1;
  /** @internal */
  closed = false;
  private connecting = false;
  private heartbeat: TimerHandle | undefined;
  private lastInboundAt = 0;
  private lastTickAt = 0;
  private unansweredPingAt: number | undefined;
  /** @internal */
  lastError: RpcError | undefined;
  /** @internal */
  readonly backstops = new Set<Backstop>();
  private sweeper: TimerHandle | undefined;

  constructor(
    readonly url: string,
    /** @internal */
    readonly options: ResolvedWsClientOptions,
    /** @internal */
    readonly connectOptions: ConnectOptions,
  ) {
    this.reconnector = new Reconnector(
      (signal) =>
        this.openSocket(signal).catch((error: unknown) => {
          // Connect refused: nothing queued was written, so it may go elsewhere at once.
          const rpcError = toNotSent(error, url);
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
    const notification = !Object.hasOwn(request, 'id');
    // Serialised before anything else: params that cannot be (BigInt, a cycle) fail at once as a
    // protocol error, never queued, sent or retried.
    let body: string;
    try {
      body = encodeBody(request, options.metadata, this.options.meta);
    } catch (cause) {
      return Promise.reject(unserialisable(this.url, cause));
    }
    return new Promise<JsonRpcResponse | undefined>((resolve, reject) => {
      if (notification) {
        this.submit(
          () => [body],
          () => new Map(),
          options,
          () => resolve(undefined),
          reject,
        );
        return;
      }
      new SingleCall(this, request, body, options, resolve, reject).start();
    });
  }

  sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    let bodies: string[];
    try {
      bodies = requests.map((request) => encodeBody(request, options.metadata, this.options.meta));
    } catch (cause) {
      return Promise.reject(unserialisable(this.url, cause));
    }
    return new Promise<JsonRpcResponse[]>((resolve, reject) => {
      const responses: JsonRpcResponse[] = [];
      const originals: JsonRpcId[] = [];
      this.submit(
        () => {
          const wireIds: number[] = [];
          const items = requests.map((request, index) => {
            if (!Object.hasOwn(request, 'id')) return bodies[index]!;
            const wireId = this.nextId++;
            wireIds.push(wireId);
            originals.push(request.id as JsonRpcId);
            return withWireId(bodies[index]!, wireId);
          });
          return [`[${items.join(',')}]`, ...wireIds];
        },
        (wireIds) => {
          const map = new Map<number, Pending>();
          let remaining = wireIds.length;
          let failed = false;
          wireIds.forEach((wireId, index) => {
            map.set(wireId, {
              settle: (response) => {
                responses.push({ ...response, id: originals[index] ?? null });
                if (--remaining === 0) resolve(responses);
              },
              fail: (error) => {
                if (!failed) {
                  failed = true;
                  reject(error);
                }
              },
            });
          });
          return map;
        },
        options,
        () => resolve(responses),
        reject,
      );
    });
  }

  /**
   * The common path of `send` and `sendBatch`: write now if open (or queue until open), register
   * the pending entries, and settle them on abort, timeout or connection loss.
   */
  private submit(
    encodeNow: () => [string, ...number[]],
    register: (wireIds: number[]) => Map<number, Pending>,
    options: SendOptions,
    onWrittenWithoutReply: (() => void) | undefined,
    reject: (error: RpcError) => void,
  ): void {
    if (this.closed) {
      reject(new NotSentError('the connection is closed', { endpoint: this.url }));
      return;
    }
    if (options.signal.aborted) {
      reject(new NotSentError('the call was aborted before it was sent', { endpoint: this.url }));
      return;
    }

    let entries: Map<number, Pending> | undefined;
    let queued: Queued | undefined;
    let done = false;
    const cleanup = () => {
      done = true;
      this.backstops.delete(backstop);
      options.signal.removeEventListener('abort', onAbort);
      if (entries) for (const wireId of entries.keys()) this.pending.delete(wireId);
      if (queued) this.queue.delete(queued);
    };
    const failWith = (error: RpcError) => {
      if (done) return;
      cleanup();
      reject(error);
    };
    const onAbort = () => {
      const written = entries !== undefined;
      failWith(
        written
          ? new TimeoutError('the call was aborted while waiting for its response', { endpoint: this.url })
          : new NotSentError('the call was aborted before it was sent', { endpoint: this.url }),
      );
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    // The signal is the primary deadline; this backstop fires a little later so that the core's
    // own deadline always wins the race, and a caller without a deadline signal is still settled.
    const backstop: Backstop = {
      at: this.connectOptions.clock.now() + options.timeoutMs + BACKSTOP_GRACE_MS,
      fire: () =>
        failWith(
          entries
            ? new TimeoutError(`no response within ${options.timeoutMs} ms`, { endpoint: this.url })
            : new NotSentError(`the connection did not open within ${options.timeoutMs} ms`, {
                endpoint: this.url,
              }),
        ),
    };
    this.addBackstop(backstop);

    const write = () => {
      if (done) return;
      const socket = this.socket;
      if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
        return failWith(new NotSentError('the socket is not open', { endpoint: this.url }));
      }
      if (socket.bufferedAmount > this.options.maxBufferedBytes) {
        return failWith(
          new OverloadedError(
            `the socket has ${socket.bufferedAmount} bytes buffered (bound ${this.options.maxBufferedBytes})`,
            { endpoint: this.url },
          ),
        );
      }
      const [text, ...wireIds] = encodeNow();
      if (wireIds.length > 0) {
        const map = register(wireIds);
        for (const [wireId, entry] of map) {
          this.pending.set(wireId, {
            settle: (response) => {
              this.pending.delete(wireId);
              entry.settle(response);
              if (!hasAny(map, this.pending)) cleanup();
            },
            fail: (error) => {
              if (done) return;
              cleanup();
              entry.fail(error);
            },
          });
        }
        entries = map;
      }
      try {
        socket.send(text);
      } catch (error) {
        return failWith(
          new NotSentError('the socket refused the message', { endpoint: this.url, cause: error }),
        );
      }
      if (wireIds.length === 0) {
        cleanup();
        onWrittenWithoutReply?.();
      }
    };

    if (this.currentStatus === 'open') {
      write();
      return;
    }
    if (this.gaveUp) {
      this.ensureConnecting();
      failWith(
        new NotSentError(`reconnecting to ${this.url} gave up`, {
          endpoint: this.url,
          cause: this.lastError,
        }),
      );
      return;
    }
    if (this.queue.size >= this.options.maxQueued) {
      failWith(
        new OverloadedError(`${this.queue.size} calls already wait for the connection to open`, {
          endpoint: this.url,
        }),
      );
      return;
    }
    queued = { write, fail: failWith };
    this.queue.add(queued);
    this.ensureConnecting();
  }

  /** @internal */
  addBackstop(backstop: Backstop): void {
    this.backstops.add(backstop);
    if (this.sweeper === undefined) this.scheduleSweep();
  }

  private scheduleSweep(): void {
    this.sweeper = this.connectOptions.clock.setTimeout(() => {
      this.sweeper = undefined;
      const now = this.connectOptions.clock.now();
      for (const backstop of [...this.backstops]) if (backstop.at <= now) backstop.fire();
      if (this.backstops.size > 0) this.scheduleSweep();
    }, SWEEP_INTERVAL_MS);
  }

  ping(options: PingOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = this.socket;
      if (this.currentStatus !== 'open' || socket === undefined) {
        this.ensureConnecting();
        return reject(new NotSentError('the socket is not open', { endpoint: this.url }));
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
      const onAbort = () => finish(new TimeoutError('the ping was aborted', { endpoint: this.url }));
      if (options.signal.aborted) return onAbort();
      options.signal.addEventListener('abort', onAbort, { once: true });
      timer = this.connectOptions.clock.setTimeout(
        () => finish(new TimeoutError(`no pong within ${options.timeoutMs} ms`, { endpoint: this.url })),
        options.timeoutMs,
      );
      this.pingWaiters.add(waiter);
      try {
        socket.ping();
      } catch (error) {
        finish(new NotSentError('the ping could not be sent', { endpoint: this.url, cause: error }));
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropJitter?.cancel();
    this.reconnector.stop();
    const error = new ConnectionLostError('the connection was closed by the client', { endpoint: this.url });
    this.failQueue(new NotSentError('the connection was closed by the client', { endpoint: this.url }));
    const socket = this.socket;
    this.detach(error);
    this.setStatus('closed');
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1_000);
        timer.unref();
        socket.once('close', () => {
          clearTimeout(timer);
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
        const rpcError = toNotSent(error, this.url);
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
      if (this.closed || signal.aborted)
        return reject(new NotSentError('the connection is closed', { endpoint: this.url }));
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
      const onClose = (code: number) => finish(new Error(`closed during the handshake (${code})`));
      const onUnexpected = (_request: unknown, response: { statusCode?: number }) => {
        const status = response.statusCode ?? 0;
        finish(
          new NotSentError(`the server refused the WebSocket upgrade with HTTP ${status}`, {
            endpoint: this.url,
            data: { httpStatus: status },
          }),
        );
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
          reject(new NotSentError('the connection is closed', { endpoint: this.url }));
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
      const text = reason.toString();
      this.drop(
        new ConnectionLostError(`the connection closed (${code}${text ? ` ${text}` : ''})`, {
          endpoint: this.url,
          data: { closeCode: code },
        }),
      );
    });
    this.scheduleTick();
    this.lastError = undefined;
    this.setStatus('open');
    const queued = [...this.queue];
    this.queue.clear();
    for (const entry of queued) entry.write();
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
    // Our own event loop stalled: the silence may be ours, not the peer's. Judge on the next tick.
    if (lag > this.options.heartbeatIntervalMs) {
      this.unansweredPingAt = undefined;
      return;
    }
    if (
      this.unansweredPingAt !== undefined &&
      now - this.unansweredPingAt >= this.options.heartbeatTimeoutMs
    ) {
      this.drop(
        new ConnectionLostError(
          `the peer was silent for ${Math.round(now - this.lastInboundAt)} ms (heartbeat timeout ${this.options.heartbeatTimeoutMs} ms)`,
          { endpoint: this.url },
        ),
      );
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
    this.lastInboundAt = this.connectOptions.clock.now();
    this.unansweredPingAt = undefined;
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
    const entry = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (entry === undefined) {
      // An error without an id (e.g. -32700 for a frame we did not send) or a late response.
      this.emit({ type: 'activity' });
      return;
    }
    let response: JsonRpcResponse;
    try {
      response = validateResponse(value);
    } catch (error) {
      entry.fail(
        RpcError.isInstance(error) ? error : new ProtocolError('malformed response', { cause: error }),
      );
      return;
    }
    entry.settle(response);
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
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) entry.fail(error);
  }

  private failQueue(error: RpcError): void {
    const queued = [...this.queue];
    this.queue.clear();
    for (const entry of queued) entry.fail(error);
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

function wireObject(
  request: JsonRpcRequest,
  metadata: WireMetadata,
  sendMeta: boolean,
): Record<string, unknown> {
  // The request goes out as given (a malformed one too: the server judges it); the id is replaced
  // by the connection-unique wire id when written and the metadata is merged into `meta`.
  const wire: Record<string, unknown> = { jsonrpc: request.jsonrpc, method: request.method };
  if (request.params !== undefined) wire.params = request.params;
  if (!sendMeta) return wire;
  const meta = request.meta === undefined ? metadata : { ...request.meta, ...metadata };
  if (
    meta.deadlineMs !== undefined ||
    meta.idempotent !== undefined ||
    meta.attempt !== undefined ||
    meta.traceId !== undefined
  ) {
    wire.meta = meta;
  }
  return wire;
}

/** The request as JSON without an id; throws if its params cannot be serialised. */
function encodeBody(request: JsonRpcRequest, metadata: WireMetadata, sendMeta: boolean): string {
  return JSON.stringify(wireObject(request, metadata, sendMeta));
}

/** `body` (a JSON object) with `"id": wireId` as its first member. */
function withWireId(body: string, wireId: number): string {
  return body.length <= 2 ? `{"id":${wireId}}` : `{"id":${wireId},${body.slice(1)}`;
}

function unserialisable(endpoint: string, cause: unknown): ProtocolError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ProtocolError(`the request cannot be serialised to JSON: ${reason}`, { endpoint, cause });
}

function hasAny(map: Map<number, Pending>, pending: Map<number, Pending>): boolean {
  for (const wireId of map.keys()) if (pending.has(wireId)) return true;
  return false;
}

function toNotSent(error: unknown, endpoint: string): RpcError {
  if (RpcError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new NotSentError(`could not connect: ${message}`, { endpoint, cause: error });
}

/**
 * The hot path: one request with an id. One object per call serves as the pending entry, the
 * queue entry, the backstop and the abort listener (`handleEvent`), so no closures are made.
 */
class SingleCall implements Pending, Queued, Backstop {
  at: number;
  private wireId = 0;
  private written = false;
  private done = false;

  constructor(
    private readonly connection: WsConnection,
    private readonly request: JsonRpcRequest,
    /** The request serialised without its id (the wire id is spliced in when written). */
    private readonly body: string,
    private readonly options: SendOptions,
    private readonly resolve: (response: JsonRpcResponse) => void,
    private readonly reject: (error: RpcError) => void,
  ) {
    this.at = connection.connectOptions.clock.now() + options.timeoutMs + BACKSTOP_GRACE_MS;
  }

  start(): void {
    const connection = this.connection;
    if (connection.closed) {
      this.reject(new NotSentError('the connection is closed', { endpoint: connection.url }));
      return;
    }
    if (this.options.signal.aborted) {
      this.reject(new NotSentError('the call was aborted before it was sent', { endpoint: connection.url }));
      return;
    }
    this.options.signal.addEventListener('abort', this);
    connection.addBackstop(this);
    if (connection.currentStatus === 'open') {
      this.write();
      return;
    }
    if (connection.gaveUp) {
      connection.ensureConnecting();
      this.fail(
        new NotSentError(`reconnecting to ${connection.url} gave up`, {
          endpoint: connection.url,
          cause: connection.lastError,
        }),
      );
      return;
    }
    if (connection.queue.size >= connection.options.maxQueued) {
      this.fail(
        new OverloadedError(`${connection.queue.size} calls already wait for the connection to open`, {
          endpoint: connection.url,
        }),
      );
      return;
    }
    connection.queue.add(this);
    connection.ensureConnecting();
  }

  write(): void {
    if (this.done) return;
    const connection = this.connection;
    connection.queue.delete(this);
    const socket = connection.socket;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      this.fail(new NotSentError('the socket is not open', { endpoint: connection.url }));
      return;
    }
    const bound = connection.options.maxBufferedBytes;
    if (socket.bufferedAmount > bound) {
      this.fail(
        new OverloadedError(`the socket has ${socket.bufferedAmount} bytes buffered (bound ${bound})`, {
          endpoint: connection.url,
        }),
      );
      return;
    }
    this.wireId = connection.nextId++;
    const text = withWireId(this.body, this.wireId);
    connection.pending.set(this.wireId, this);
    this.written = true;
    try {
      corkedSend(socket, text);
    } catch (error) {
      this.fail(
        new NotSentError('the socket refused the message', { endpoint: connection.url, cause: error }),
      );
    }
  }

  /** The abort listener. */
  handleEvent(): void {
    const endpoint = this.connection.url;
    this.fail(
      this.written
        ? new TimeoutError('the call was aborted while waiting for its response', { endpoint })
        : new NotSentError('the call was aborted before it was sent', { endpoint }),
    );
  }

  /** The backstop. */
  fire(): void {
    const endpoint = this.connection.url;
    const timeoutMs = this.options.timeoutMs;
    this.fail(
      this.written
        ? new TimeoutError(`no response within ${timeoutMs} ms`, { endpoint })
        : new NotSentError(`the connection did not open within ${timeoutMs} ms`, { endpoint }),
    );
  }

  settle(response: JsonRpcResponse): void {
    if (this.done) return;
    this.finish();
    response.id = this.request.id as JsonRpcId;
    this.resolve(response);
  }

  fail(error: RpcError): void {
    if (this.done) return;
    this.finish();
    this.reject(error);
  }

  private finish(): void {
    this.done = true;
    const connection = this.connection;
    if (this.written) connection.pending.delete(this.wireId);
    else connection.queue.delete(this);
    connection.backstops.delete(this);
    this.options.signal.removeEventListener('abort', this);
  }
}
