import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import {
  type ClientConnection,
  type Clock,
  type ConnectionEvent,
  ConnectionLostError,
  type ConnectionStatus,
  type JsonRpcRequest,
  type JsonRpcResponse,
  metadataToHeaders,
  NotSentError,
  type PingOptions,
  ProtocolError,
  type RpcError,
  type SendOptions,
  type TimerHandle,
  type TransportCapabilities,
} from '@resilient-rpc/core';
import type { AxiosInstance } from 'axios';
import { axiosRequest, type LeanOptions, type LeanRequest, leanRequest } from './lean-adapter.js';
import { mapHttpError } from './map-error.js';
import { type HttpAnswer, readBatch, readSingle, rejectedError } from './read-response.js';

const CAPABILITIES: TransportCapabilities = { batch: true, ping: true, persistentConnection: false };
/** Health probes of an endpoint that refused connections: first after 250 ms, backing off to 5 s. */
const PROBE_MIN_MS = 250;
const PROBE_MAX_MS = 5_000;

interface ConnectionConfig {
  readonly clock: Clock;
  readonly healthPath: string;
  /** Largest response body read, bytes. */
  readonly maxResponseBytes: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly onClose: () => void;
  /** The transport's own instance: its agents, and whether a request may skip axios's pipeline. */
  readonly lean?: { readonly skip: () => boolean; readonly http: HttpAgent; readonly https: HttpsAgent };
}

/** One endpoint of the HTTP transport. HTTP has no standing connection: it is `open` until closed. */
export class HttpConnection implements ClientConnection {
  readonly capabilities = CAPABILITIES;
  private readonly target: URL;
  private readonly healthTarget: URL;
  private readonly baseHeaders: Readonly<Record<string, string>>;
  private readonly options: LeanOptions;
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private readonly pending = new Set<(error: RpcError) => void>();
  private current: ConnectionStatus = 'open';
  private probe: TimerHandle | undefined;
  private probeDelayMs = PROBE_MIN_MS;

  constructor(
    readonly url: string,
    private readonly client: AxiosInstance,
    private readonly config: ConnectionConfig,
  ) {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new TypeError(`the HTTP transport serves http:// and https:// URLs (got ${url})`);
    }
    this.target = target;
    this.healthTarget = new URL(config.healthPath, target.origin);
    this.baseHeaders = { 'content-type': 'application/json', accept: 'application/json', ...config.headers };
    const agent = target.protocol === 'https:' ? config.lean?.https : config.lean?.http;
    this.options = { clock: config.clock, maxBytes: config.maxResponseBytes, agent };
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    const id = Object.hasOwn(request, 'id') ? request.id : undefined;
    return this.post(request, options).then((answer) => readSingle(answer, this.url, id));
  }

  sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    const ids: JsonRpcResponse['id'][] = [];
    for (const request of requests) if (request.id !== undefined) ids.push(request.id);
    return this.post(requests, options).then((answer) => readBatch(answer, this.url, ids));
  }

  /**
   * `GET /health` over the keep-alive pool. Any HTTP answer proves the peer alive, except 503/429
   * (draining or overloaded: rejected, so the client routes elsewhere).
   */
  async ping(options: PingOptions): Promise<void> {
    const answer = await this.exchange(this.health(options.signal, timeoutOf(options.timeoutMs)));
    if (answer.status === 503 || answer.status === 429) throw rejectedError(answer, this.url);
  }

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.setStatus('closed');
    this.probe?.cancel();
    this.probe = undefined;
    const error = new ConnectionLostError(`the connection to ${this.url} was closed`, { endpoint: this.url });
    for (const reject of this.pending) reject(error);
    this.pending.clear();
    this.config.onClose();
  }

  /**
   * POSTs the message. Params that cannot be serialised (BigInt, a circular structure, a throwing
   * `toJSON`) are a `protocol` error: nothing sent, never worth retrying.
   */
  private post(
    message: JsonRpcRequest | readonly JsonRpcRequest[],
    options: SendOptions,
  ): Promise<HttpAnswer> {
    let body: string;
    try {
      body = JSON.stringify(message);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const text = `the request to ${this.url} cannot be serialised as JSON: ${reason}`;
      return Promise.reject(new ProtocolError(text, { endpoint: this.url, cause: error }));
    }
    const headers: Record<string, string> = { ...this.baseHeaders, ...options.headers };
    metadataToHeaders(options.metadata, (name, value) => {
      headers[name] = value;
    });
    const { signal, timeoutMs } = options;
    return this.exchange({
      url: this.target,
      method: 'POST',
      headers,
      body,
      timeoutMs: timeoutOf(timeoutMs),
      signal,
    });
  }

  private health(signal: AbortSignal | undefined, timeoutMs: number): LeanRequest {
    return {
      url: this.healthTarget,
      method: 'GET',
      headers: { ...this.config.headers },
      body: undefined,
      timeoutMs,
      signal,
    };
  }

  /**
   * One request and its answer (any status), or the attempt's {@link RpcError}. On the
   * transport's own instance it skips axios's pipeline while nothing was installed on it (see
   * `pipelineSkipper`); otherwise it goes through `axios.request`.
   */
  private fetch(request: LeanRequest): Promise<HttpAnswer> {
    const { options } = this;
    return this.config.lean?.skip()
      ? leanRequest(request, options)
      : axiosRequest(this.client, request, options);
  }

  private exchange(request: LeanRequest): Promise<HttpAnswer> {
    if (this.current === 'closed') {
      return Promise.reject(
        new NotSentError(`the connection to ${this.url} is closed`, { endpoint: this.url }),
      );
    }
    return new Promise<HttpAnswer>((resolve, reject) => {
      this.pending.add(reject);
      this.fetch(request).then(
        (answer) => {
          this.pending.delete(reject);
          if (this.current === 'reconnecting') this.setStatus('open');
          this.probeDelayMs = PROBE_MIN_MS;
          resolve(answer);
        },
        (error: unknown) => {
          this.pending.delete(reject);
          const { signal } = request;
          const mapped = mapHttpError(error, this.url, signal, this.config.maxResponseBytes);
          if (mapped.kind === 'not-sent' && this.current === 'open' && !signal?.aborted) {
            this.setStatus('reconnecting', mapped);
            this.scheduleProbe();
          }
          reject(mapped);
        },
      );
    });
  }

  /**
   * HTTP has no connection to re-open: after a connect failure the endpoint is reported
   * `reconnecting` and probed in the background until it answers again (then `open`).
   */
  private scheduleProbe(): void {
    if (this.probe !== undefined || this.current !== 'reconnecting') return;
    const delay = this.probeDelayMs;
    this.probeDelayMs = Math.min(PROBE_MAX_MS, delay * 2);
    this.probe = this.config.clock.setTimeout(() => {
      this.fetch(this.health(undefined, PROBE_MAX_MS)).then(
        () => {
          this.probe = undefined;
          if (this.current === 'reconnecting') this.setStatus('open');
        },
        () => {
          this.probe = undefined;
          this.scheduleProbe();
        },
      );
    }, delay);
  }

  private setStatus(status: ConnectionStatus, error?: RpcError): void {
    this.current = status;
    if (this.listeners.size === 0) return;
    const event: ConnectionEvent =
      error === undefined ? { type: 'status', status } : { type: 'status', status, error };
    for (const listener of this.listeners) listener(event);
  }
}

function timeoutOf(timeoutMs: number): number {
  // 0 means no timeout. Round up so that an almost spent budget still gets a timer.
  return Number.isFinite(timeoutMs) ? Math.max(1, Math.ceil(timeoutMs)) : 0;
}
