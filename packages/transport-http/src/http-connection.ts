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
import type { AxiosInstance, AxiosRequestConfig, AxiosResponse } from 'axios';
import type { ClockedRequestConfig } from './lean-adapter.js';
import { mapHttpError } from './map-error.js';
import { type HttpAnswer, readBatch, readSingle, rejectedError } from './read-response.js';

const CAPABILITIES: TransportCapabilities = { batch: true, ping: true, persistentConnection: false };
const identity = (data: unknown) => data;
const IDENTITY = [identity];
const anyStatus = () => true;
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
}

/** One endpoint of the HTTP transport. HTTP has no standing connection: it is `open` until closed. */
export class HttpConnection implements ClientConnection {
  readonly capabilities = CAPABILITIES;
  readonly url: string;
  private readonly healthUrl: string;
  private readonly baseHeaders: Readonly<Record<string, string>>;
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private readonly pending = new Set<(error: RpcError) => void>();
  private current: ConnectionStatus = 'open';
  private probe: TimerHandle | undefined;
  private probeDelayMs = PROBE_MIN_MS;

  constructor(
    url: string,
    private readonly client: AxiosInstance,
    private readonly config: ConnectionConfig,
  ) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`the HTTP transport serves http:// and https:// URLs (got ${url})`);
    }
    this.url = url;
    this.healthUrl = new URL(config.healthPath, parsed.origin).href;
    this.baseHeaders = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...config.headers,
    };
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    const id = Object.hasOwn(request, 'id') ? request.id : undefined;
    const body = this.serialise(request);
    if (typeof body !== 'string') return Promise.reject(body);
    return this.post(body, options).then((answer) => readSingle(answer, this.url, id));
  }

  sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    const ids: JsonRpcResponse['id'][] = [];
    for (const request of requests) if (request.id !== undefined) ids.push(request.id);
    const body = this.serialise(requests);
    if (typeof body !== 'string') return Promise.reject(body);
    return this.post(body, options).then((answer) => readBatch(answer, this.url, ids));
  }

  /**
   * The request as JSON text, or a `protocol` error (nothing sent, never worth retrying) when its
   * params cannot be serialised (BigInt, a circular structure, a throwing `toJSON`).
   */
  private serialise(message: JsonRpcRequest | readonly JsonRpcRequest[]): string | ProtocolError {
    try {
      return JSON.stringify(message);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return new ProtocolError(`the request to ${this.url} cannot be serialised as JSON: ${reason}`, {
        endpoint: this.url,
        cause: error,
      });
    }
  }

  /**
   * `GET /health` over the keep-alive pool. Any HTTP answer proves the peer alive, except 503/429
   * (draining or overloaded: rejected, so the client routes elsewhere).
   */
  async ping(options: PingOptions): Promise<void> {
    const answer = await this.exchange({
      method: 'get',
      url: this.healthUrl,
      headers: this.config.headers,
      signal: options.signal,
      timeout: timeoutOf(options.timeoutMs),
    });
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

  private post(body: string, options: SendOptions): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...this.baseHeaders, ...options.headers };
    metadataToHeaders(options.metadata, (name, value) => {
      headers[name] = value;
    });
    return this.exchange({
      method: 'post',
      url: this.url,
      data: body,
      headers,
      signal: options.signal,
      timeout: timeoutOf(options.timeoutMs),
    });
  }

  private exchange(config: AxiosRequestConfig): Promise<HttpAnswer> {
    if (this.current === 'closed') {
      return Promise.reject(
        new NotSentError(`the connection to ${this.url} is closed`, { endpoint: this.url }),
      );
    }
    config.responseType = 'text';
    config.transformRequest = IDENTITY;
    config.transformResponse = IDENTITY;
    config.validateStatus = anyStatus;
    config.maxRedirects = 0;
    // Read at most this much of a response (axios destroys the stream past it).
    config.maxContentLength = this.config.maxResponseBytes;
    // The lean adapter runs its attempt timer on the injected clock (other adapters ignore it).
    (config as ClockedRequestConfig).clock = this.config.clock;
    const signal = config.signal as AbortSignal | undefined;
    return new Promise<HttpAnswer>((resolve, reject) => {
      this.pending.add(reject);
      this.client.request(config).then(
        (response: AxiosResponse) => {
          this.pending.delete(reject);
          if (this.current === 'reconnecting') this.setStatus('open');
          this.probeDelayMs = PROBE_MIN_MS;
          const data: unknown = response.data;
          resolve({
            status: response.status,
            body: typeof data === 'string' ? data : data == null ? '' : JSON.stringify(data),
            retryAfter: response.headers['retry-after'],
          });
        },
        (error: unknown) => {
          this.pending.delete(reject);
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
      this.client
        .request({
          method: 'get',
          url: this.healthUrl,
          headers: this.config.headers,
          timeout: PROBE_MAX_MS,
          responseType: 'text',
          transformResponse: IDENTITY,
          validateStatus: anyStatus,
          maxRedirects: 0,
          maxContentLength: this.config.maxResponseBytes,
        })
        .then(
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
  // axios: 0 means no timeout. Round up so that an almost spent budget still gets a timer.
  return Number.isFinite(timeoutMs) ? Math.max(1, Math.ceil(timeoutMs)) : 0;
}
