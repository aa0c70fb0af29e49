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
import type { AxiosInstance, AxiosRequestConfig, AxiosResponse } from 'axios';
import { type ClockedRequestConfig, leanRequest } from './lean-adapter.js';
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
  /** The transport's own instance: its agents, and whether a request may skip axios's pipeline. */
  readonly lean?: {
    readonly skip: () => boolean;
    readonly httpAgent: HttpAgent;
    readonly httpsAgent: HttpsAgent;
  };
}

/** One endpoint of the HTTP transport. HTTP has no standing connection: it is `open` until closed. */
export class HttpConnection implements ClientConnection {
  readonly capabilities = CAPABILITIES;
  readonly url: string;
  private readonly target: URL;
  private readonly healthTarget: URL;
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
    this.target = parsed;
    this.healthTarget = new URL(config.healthPath, parsed.origin);
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
    const answer = await this.exchange(
      'GET',
      this.healthTarget,
      { ...this.config.headers },
      undefined,
      options.signal,
      timeoutOf(options.timeoutMs),
    );
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
    return this.exchange('POST', this.target, headers, body, options.signal, timeoutOf(options.timeoutMs));
  }

  /** One request and its answer (any status), as a failed attempt's {@link RpcError} otherwise. */
  private exchange(
    method: 'GET' | 'POST',
    target: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<HttpAnswer> {
    if (this.current === 'closed') {
      return Promise.reject(
        new NotSentError(`the connection to ${this.url} is closed`, { endpoint: this.url }),
      );
    }
    return new Promise<HttpAnswer>((resolve, reject) => {
      this.pending.add(reject);
      this.fetch(method, target, headers, body, signal, timeoutMs).then(
        (answer) => {
          this.pending.delete(reject);
          if (this.current === 'reconnecting') this.setStatus('open');
          this.probeDelayMs = PROBE_MIN_MS;
          resolve(answer);
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
   * The request on the transport's own instance without axios's pipeline while nothing was
   * installed on it (see `pipelineSkipper`), else through `axios.request`. `headers` is the
   * request's own object (a Content-Length is added to it).
   */
  private fetch(
    method: 'GET' | 'POST',
    target: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<HttpAnswer> {
    const { lean, clock, maxResponseBytes } = this.config;
    if (lean?.skip()) {
      const agent = target.protocol === 'https:' ? lean.httpsAgent : lean.httpAgent;
      return leanRequest({
        url: target,
        method,
        headers,
        body,
        timeoutMs,
        signal,
        maxBytes: maxResponseBytes,
        clock,
        agent,
      }).then((answer) => ({
        status: answer.status,
        body: answer.body,
        retryAfter: answer.headers['retry-after'],
      }));
    }
    const config: AxiosRequestConfig & ClockedRequestConfig = {
      method,
      url: target.href,
      data: body,
      headers,
      signal,
      timeout: timeoutMs,
      responseType: 'text',
      transformRequest: IDENTITY,
      transformResponse: IDENTITY,
      validateStatus: anyStatus,
      maxRedirects: 0,
      // Read at most this much of a response (axios destroys the stream past it).
      maxContentLength: maxResponseBytes,
      // The lean adapter runs its attempt timer on the injected clock (other adapters ignore it).
      clock,
    };
    return this.client.request(config).then((response: AxiosResponse) => {
      const data: unknown = response.data;
      return {
        status: response.status,
        body: typeof data === 'string' ? data : data == null ? '' : JSON.stringify(data),
        retryAfter: response.headers['retry-after'],
      };
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
      this.fetch(
        'GET',
        this.healthTarget,
        { ...this.config.headers },
        undefined,
        undefined,
        PROBE_MAX_MS,
      ).then(
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
