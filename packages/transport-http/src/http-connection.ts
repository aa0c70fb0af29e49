import type { ClientRequest, Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import {
  type ClientConnection,
  type Clock,
  type ConnectionEvent,
  ConnectionLostError,
  type ConnectionStatus,
  type JsonRpcRequest,
  type JsonRpcResponse,
  MetadataHeaders,
  metadataToHeaders,
  NotSentError,
  PendingCalls,
  type PingOptions,
  type RpcError,
  type SendOptions,
  type TransportCapabilities,
} from '@resilient-rpc/core';
import { Reachability, unserialisable } from '@resilient-rpc/core/transport';
import { type AxiosInstance, CanceledError } from 'axios';
import {
  axiosRequest,
  type LeanHeaders,
  type LeanOptions,
  type LeanRequest,
  leanRequest,
  startLeanRequest,
  timeoutError,
} from './lean-adapter.js';
import { type HttpAnswer, mapHttpError, readBatch, readSingle, rejectedError } from './map-error.js';

const CAPABILITIES: TransportCapabilities = { batch: true, ping: true, persistentConnection: false };
/** A request's abort signal is read only once it has waited this long, ms (most never make theirs). */
const WATCH_SIGNAL_AFTER_MS = 10;

interface LeanExchange {
  readonly request: ClientRequest;
  readonly options: SendOptions;
}

interface ConnectionConfig {
  readonly clock: Clock;
  readonly healthPath: string;
  readonly maxResponseBytes: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly onClose: () => void;
  /** The transport's own instance: its agents, and whether a request may skip axios's pipeline. */
  readonly lean?: { readonly skip: () => boolean; readonly http: HttpAgent; readonly https: HttpsAgent };
}

/** One endpoint of the HTTP transport; its status is the core's {@link Reachability}. */
export class HttpConnection implements ClientConnection {
  readonly capabilities = CAPABILITIES;
  private readonly target: URL;
  private readonly healthTarget: URL;
  private readonly baseHeaders: Readonly<Record<string, string>>;
  /** {@link baseHeaders} as a flat list with `Host` (see {@link headerList}). */
  private readonly baseList: readonly string[] | undefined;
  private readonly options: LeanOptions;
  private readonly reachability: Reachability;
  /** Requests through {@link exchange}: their rejections, for `close()`. */
  private readonly pending = new Set<(error: RpcError) => void>();
  /** Requests on the lean path, by a number of this connection (one timer for their timeouts). */
  private readonly inFlight: PendingCalls<number, HttpAnswer, LeanExchange>;
  private nextNumber = 0;

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
    this.baseList = headerList(this.baseHeaders, target.host);
    const agent = target.protocol === 'https:' ? config.lean?.https : config.lean?.http;
    this.options = { clock: config.clock, maxBytes: config.maxResponseBytes, agent };
    this.reachability = new Reachability({
      clock: config.clock,
      probe: (timeoutMs) => this.health(undefined, timeoutMs),
    });
    this.inFlight = new PendingCalls<number, HttpAnswer, LeanExchange>(
      config.clock,
      {
        // The attempt timer (a connect timeout is told from a lost answer by what was written).
        timeout: ({ timeoutMs, context: { request } }) => {
          const error = this.failure(timeoutError(timeoutMs, request), undefined);
          request.destroy();
          return error;
        },
        // The core gave up on the attempt (its reason is the rejection): free the socket.
        aborted: ({ context: { request, options } }) => {
          request.destroy();
          return this.failure(new CanceledError(), options.signal);
        },
      },
      { watchSignalAfterMs: WATCH_SIGNAL_AFTER_MS },
    );
  }

  get status(): ConnectionStatus {
    return this.reachability.status;
  }

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    const id = Object.hasOwn(request, 'id') ? request.id : undefined;
    return this.post(request, options, (answer) => readSingle(answer, this.url, id));
  }

  sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    const answered = requests.some((request) => request.id !== undefined);
    return this.post(requests, options, (answer) => readBatch(answer, this.url, answered));
  }

  /** `GET /health`: any HTTP answer proves the peer alive, but 503/429 reject (route elsewhere). */
  async ping(options: PingOptions): Promise<void> {
    const answer = await this.health(options.signal, timeoutOf(options.timeoutMs));
    if (answer.status === 503 || answer.status === 429) throw rejectedError(answer, this.url);
  }

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    return this.reachability.onEvent(listener);
  }

  async close(): Promise<void> {
    if (!this.reachability.close()) return;
    const error = new ConnectionLostError(`the connection to ${this.url} was closed`, { endpoint: this.url });
    for (const reject of this.pending) reject(error);
    this.pending.clear();
    this.inFlight.rejectAll(() => error);
    this.config.onClose();
  }

  /** POSTs the message and reads the answer with `read`. */
  private post<T>(
    message: JsonRpcRequest | readonly JsonRpcRequest[],
    options: SendOptions,
    read: (answer: HttpAnswer) => T,
  ): Promise<T> {
    let body: string;
    try {
      body = JSON.stringify(message);
    } catch (error) {
      return Promise.reject(unserialisable(this.url, error));
    }
    const timeoutMs = timeoutOf(options.timeoutMs);
    if (this.reachability.status !== 'closed' && this.config.lean?.skip()) {
      const base = this.baseList;
      if (base !== undefined && (options.headers === undefined || isEmpty(options.headers))) {
        // The fixed headers' list, copied, and the call's metadata (see LeanHeaders).
        const list = base.slice();
        metadataToHeaders(options.metadata, (name, value) => {
          list.push(name, value);
        });
        return this.leanPost(list, body, timeoutMs, options, read);
      }
      return this.leanPost(this.headersOf(options), body, timeoutMs, options, read);
    }
    const headers = this.headersOf(options);
    return this.exchange({
      url: this.target,
      method: 'POST',
      headers,
      body,
      timeoutMs,
      signal: options.signal,
    }).then(read);
  }

  /** The request's own headers object: the fixed ones, the call's own, its metadata. */
  private headersOf(options: SendOptions): Record<string, string> {
    // Object.assign, not a spread: a spread clone, extended below and in startLeanRequest, made
    // every request's objects survive scavenges (issue 16: ~400 KB promoted per scavenge at c=64).
    const headers: Record<string, string> = Object.assign({}, this.baseHeaders, options.headers);
    metadataToHeaders(options.metadata, (name, value) => {
      headers[name] = value;
    });
    return headers;
  }

  /** The lean path of {@link post}: one request on the transport's own agents, in {@link inFlight}. */
  private leanPost<T>(
    headers: LeanHeaders,
    body: string,
    timeoutMs: number,
    options: SendOptions,
    read: (answer: HttpAnswer) => T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const number = ++this.nextNumber;
      const inFlight = this.inFlight;
      let request: ClientRequest;
      try {
        request = startLeanRequest(
          { url: this.target, method: 'POST', headers, body },
          this.options,
          (error, answer) => {
            if (error === undefined) inFlight.resolve(number, answer!);
            // Not after a timeout or an abort (the request was destroyed, the call settled).
            else if (inFlight.get(number) !== undefined)
              inFlight.reject(number, this.failure(error, options.signal));
          },
        );
      } catch (error) {
        // node:http refused the request (e.g. an invalid header value): nothing was sent.
        reject(this.failure(error, options.signal));
        return;
      }
      inFlight.add(
        number,
        { request, options },
        timeoutMs > 0 ? timeoutMs : Number.POSITIVE_INFINITY,
        options,
        (answer) => {
          this.reachability.answered();
          try {
            resolve(read(answer));
          } catch (error) {
            reject(error);
          }
        },
        reject,
      );
      request.end(body);
    });
  }

  private health(signal: AbortSignal | undefined, timeoutMs: number): Promise<HttpAnswer> {
    const url = this.healthTarget;
    const headers = { ...this.config.headers };
    return this.exchange({ url, method: 'GET', headers, body: undefined, timeoutMs, signal });
  }

  /** One request and its answer (any status), or the attempt's {@link RpcError}. */
  private exchange(request: LeanRequest): Promise<HttpAnswer> {
    const { url: endpoint, options, reachability } = this;
    if (reachability.status === 'closed')
      return Promise.reject(new NotSentError(`the connection to ${endpoint} is closed`, { endpoint }));
    return new Promise<HttpAnswer>((resolve, reject) => {
      this.pending.add(reject);
      const lean = this.config.lean?.skip();
      (lean ? leanRequest(request, options) : axiosRequest(this.client, request, options)).then(
        (answer) => {
          this.pending.delete(reject);
          reachability.answered();
          resolve(answer);
        },
        (error: unknown) => {
          this.pending.delete(reject);
          reject(this.failure(error, request.signal));
        },
      );
    });
  }

  /** Maps a failed request; one that could not reach the endpoint (not aborted) starts the probes. */
  private failure(error: unknown, signal: AbortSignal | undefined): RpcError {
    const mapped = mapHttpError(error, this.url, signal, this.config.maxResponseBytes);
    if (mapped.kind === 'not-sent' && !signal?.aborted) this.reachability.unreachable(mapped);
    return mapped;
  }
}

/**
 * Fixed headers a list cannot take as they are: those node:http treats apart in an object (Host,
 * Expect), the framing ones, and the metadata headers (which replace a fixed one in an object).
 */
const NOT_LISTED = new Set<string>(Object.values(MetadataHeaders));
for (const name of 'host content-length expect connection transfer-encoding'.split(' ')) NOT_LISTED.add(name);

/**
 * The fixed headers as a flat list with `Host` (a name given twice in different cases keeps its
 * last value, as node:http's `setHeader` does), or undefined when one of them is {@link NOT_LISTED}.
 */
function headerList(headers: Readonly<Record<string, string>>, host: string): string[] | undefined {
  const byName = new Map<string, [string, string]>();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (NOT_LISTED.has(lower)) return undefined;
    byName.set(lower, [name, headers[name]!]);
  }
  const list = ['Host', host];
  for (const [name, value] of byName.values()) list.push(name, value);
  return list;
}

const isEmpty = (headers: Readonly<Record<string, string>>) => {
  for (const _ in headers) return false;
  return true;
};

function timeoutOf(timeoutMs: number): number {
  // 0 means no timeout. Round up so that an almost spent budget still gets a timer.
  return Number.isFinite(timeoutMs) ? Math.max(1, Math.ceil(timeoutMs)) : 0;
}
