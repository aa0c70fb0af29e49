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
import { type AbortSource, Reachability, unserialisable } from '@resilient-rpc/core/transport';
import { type AxiosInstance, CanceledError } from 'axios';
import {
  axiosRequest,
  type LeanHeaders,
  type LeanOptions,
  startLeanRequest,
  timeoutError,
} from './lean-adapter.js';
import { type HttpAnswer, mapHttpError, readBatch, readSingle, rejectedError } from './map-error.js';

const CAPABILITIES: TransportCapabilities = { batch: true, ping: true, persistentConnection: false };
/** A request's abort signal is read only once it has waited this long, ms (most never make theirs). */
const WATCH_SIGNAL_AFTER_MS = 10;

/** What {@link HttpConnection.inFlight} keeps of a request. */
interface Exchange {
  /** On the lean path, its request; undefined through axios (which bounds its request itself). */
  readonly request: ClientRequest | undefined;
  /** Its abort signal, or where it comes from (the call's `SendOptions`). */
  readonly abort: AbortSource | undefined;
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
  /** Requests waiting, by a number of this connection (one timer for the lean path's timeouts). */
  private readonly inFlight: PendingCalls<number, HttpAnswer, Exchange>;
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
    // Only lean requests have a timeout and an abort source here (see exchange).
    this.inFlight = new PendingCalls<number, HttpAnswer, Exchange>(
      config.clock,
      {
        // The attempt timer (a connect timeout is told from a lost answer by what was written).
        timeout: ({ timeoutMs, context: { request } }) => {
          const error = this.failure(timeoutError(timeoutMs, request!), undefined);
          request!.destroy();
          return error;
        },
        // The core gave up on the attempt (its reason is the rejection): free the socket.
        aborted: ({ context: { request, abort } }) => {
          request!.destroy();
          return this.failure(new CanceledError(), signalOf(abort));
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
    // The lean path: the transport's own instance, no interceptor installed, no defaults touched.
    const lean = this.config.lean?.skip() === true;
    const base = this.baseList;
    let headers: LeanHeaders;
    if (lean && base !== undefined && (options.headers === undefined || isEmpty(options.headers))) {
      // The fixed headers' list, copied, and the call's metadata (see LeanHeaders).
      const list = base.slice();
      metadataToHeaders(options.metadata, (name, value) => {
        list.push(name, value);
      });
      headers = list;
    } else headers = this.headersOf(options);
    const timeoutMs = timeoutOf(options.timeoutMs);
    return this.exchange(lean, this.target, 'POST', headers, body, timeoutMs, options, read);
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

  private health(signal: AbortSignal | undefined, timeoutMs: number): Promise<HttpAnswer> {
    const lean = this.config.lean?.skip() === true;
    const headers = { ...this.config.headers };
    return this.exchange(lean, this.healthTarget, 'GET', headers, undefined, timeoutMs, signal, answerOf);
  }

  /**
   * One request, its answer (any status) read with `read`, or the attempt's {@link RpcError}; in
   * {@link inFlight} either way (one place for timeouts, aborts and `close()`). `lean`: on the
   * transport's own agents, its timeout and abort watched by {@link inFlight}; else through
   * `axios.request`, which bounds it itself (its timeout and signal).
   */
  private exchange<T>(
    lean: boolean,
    url: URL,
    method: string,
    headers: LeanHeaders,
    body: string | undefined,
    timeoutMs: number,
    abort: AbortSource | undefined,
    read: (answer: HttpAnswer) => T,
  ): Promise<T> {
    if (this.reachability.status === 'closed') {
      const endpoint = this.url;
      return Promise.reject(new NotSentError(`the connection to ${endpoint} is closed`, { endpoint }));
    }
    return new Promise<T>((resolve, reject) => {
      const number = ++this.nextNumber;
      const inFlight = this.inFlight;
      let request: ClientRequest | undefined;
      const done = (error: unknown, answer?: HttpAnswer) => {
        if (answer !== undefined) inFlight.resolve(number, answer);
        // Not after a timeout, an abort or close() (the call settled already).
        else if (inFlight.get(number) !== undefined) {
          inFlight.reject(number, this.failure(error, signalOf(abort)));
          request?.destroy();
        }
      };
      if (lean) {
        try {
          request = startLeanRequest({ url, method, headers, body }, this.options, done);
        } catch (error) {
          // node:http refused the request (e.g. an invalid header value): nothing was sent.
          reject(this.failure(error, signalOf(abort)));
          return;
        }
      } else {
        const asked = axiosRequest(
          this.client,
          { url, method, headers, body },
          timeoutMs,
          signalOf(abort),
          this.options,
        );
        asked.then((answer) => done(undefined, answer), done);
      }
      inFlight.add(
        number,
        { request, abort },
        lean && timeoutMs > 0 ? timeoutMs : Number.POSITIVE_INFINITY,
        lean ? abort : undefined,
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
      request?.end(body);
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

const signalOf = (abort: AbortSource | undefined) => (abort instanceof AbortSignal ? abort : abort?.signal);
const answerOf = (answer: HttpAnswer) => answer;

const isEmpty = (headers: Readonly<Record<string, string>>) => {
  for (const _ in headers) return false;
  return true;
};

function timeoutOf(timeoutMs: number): number {
  // 0 means no timeout. Round up so that an almost spent budget still gets a timer.
  return Number.isFinite(timeoutMs) ? Math.max(1, Math.ceil(timeoutMs)) : 0;
}
