import {
  type ClientRequest,
  type Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type Clock, systemClock, type TimerHandle } from '@resilient-rpc/core';
import {
  type AxiosAdapter,
  AxiosError,
  AxiosHeaders,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  CanceledError,
  type InternalAxiosRequestConfig,
} from 'axios';
import type { HttpAnswer } from './map-error.js';

/**
 * One request's headers (a Content-Length is added): its own object, or its own flat list
 * `[name, value…]` with `Host`, no name twice, which node:http writes as it is, without the
 * per-header `setHeader` work an object costs (it validates both alike).
 */
export type LeanHeaders = Record<string, string> | string[];

/** One request of the client (a Content-Length is added to its headers). */
export interface LeanRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: LeanHeaders;
  readonly body: string | undefined;
}

/** What is the same for every request of one endpoint. */
export interface LeanOptions {
  readonly clock: Clock;
  /** Largest body read, bytes; -1: no limit. */
  readonly maxBytes: number;
  readonly agent: HttpAgent | HttpsAgent | undefined;
}

export interface LeanResponse extends HttpAnswer {
  readonly statusText: string;
  /** Its `headers` object is built when first read: only the axios path reads it. */
  readonly message: IncomingMessage;
  readonly request: ClientRequest;
}

type Done = (error: Error | undefined, response?: LeanResponse) => void;

const identity = [(data: unknown) => data];
const anyStatus = () => true;
const isSet = (handler: unknown) => handler != null;

/**
 * Starts one `node:http(s).request`, without what axios's stock adapter adds (redirects, proxies,
 * streams, decompression), most of a small call's client cost, and calls `done` with the answer
 * (any status, the body as UTF-8 text) or a failure in the stock adapter's shape, so that
 * `mapHttpError` maps both alike. The caller ends the request with `body` once it has registered
 * it, and bounds the exchange (no timer, no signal here).
 */
export function startLeanRequest(
  { url, method, headers, body }: LeanRequest,
  { maxBytes, agent }: Omit<LeanOptions, 'clock'>,
  done: Done,
  config?: InternalAxiosRequestConfig,
): ClientRequest {
  if (body !== undefined) {
    const length = String(Buffer.byteLength(body));
    if (Array.isArray(headers)) headers.push('Content-Length', length);
    else headers['Content-Length'] = length;
  }
  const hostname = url.hostname;
  const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)({
    protocol: url.protocol,
    hostname: hostname.startsWith('[') ? hostname.slice(1, -1) : hostname,
    port: url.port,
    path: url.pathname + url.search,
    method,
    headers,
    agent,
  }) as Reading;
  request[READ] = { done, maxBytes, config, chunks: [], length: 0 };
  request.on('response', onResponse);
  request.on('error', onError);
  return request;
}

/**
 * A lean request and what its listeners read and fill. They are shared by every request (`this`
 * is the request, or its response, whose `req` is the request): no closures made per request.
 */
const READ = Symbol('read');
type Reading = ClientRequest & {
  [READ]: {
    done: Done;
    maxBytes: number;
    config?: InternalAxiosRequestConfig;
    chunks: Buffer[];
    length: number;
  };
};
type Answer = IncomingMessage & { readonly req: Reading };

function onResponse(this: Reading, response: IncomingMessage): void {
  response.on('data', onData);
  response.on('error', onError);
  response.on('aborted', onAborted);
  response.on('end', onEnd);
}

function onData(this: Answer, chunk: Buffer): void {
  const read = this.req[READ];
  read.length += chunk.length;
  if (read.maxBytes < 0 || read.length <= read.maxBytes) read.chunks.push(chunk);
  else {
    fail(this.req, `maxContentLength size of ${read.maxBytes} exceeded`);
    this.destroy();
  }
}

function onEnd(this: Answer): void {
  const request = this.req;
  const { chunks, length, done } = request[READ];
  const status = this.statusCode ?? 0;
  done(undefined, {
    status,
    statusText: this.statusMessage ?? '',
    message: this,
    body: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)).toString('utf8'),
    // Only a refusal (503/429) is read for it (see rejectedError).
    retryAfter: status === 503 || status === 429 ? this.headers['retry-after'] : undefined,
    request,
  });
}

function onAborted(this: Answer): void {
  fail(this.req, 'stream has been aborted');
}

/** node:http's failure of the request or (`this` has `req`) of its response. */
function onError(this: Reading | Answer, error: Error): void {
  fail(READ in this ? this : this.req, error);
}

/** Fails the request: node:http's error, or (a message) a bad response. */
function fail(request: Reading, error: Error | string): void {
  const { done, config } = request[READ];
  if (typeof error === 'string') done(new AxiosError(error, AxiosError.ERR_BAD_RESPONSE, config, request));
  else done(AxiosError.from(error, (error as { code?: string }).code, config, request));
}

/** The stock adapter's attempt-timer failure (`mapHttpError` tells a connect timeout by `request`). */
export function timeoutError(
  timeoutMs: number,
  request: ClientRequest,
  config?: InternalAxiosRequestConfig,
): AxiosError {
  return new AxiosError(`timeout of ${timeoutMs}ms exceeded`, AxiosError.ECONNABORTED, config, request);
}

/** The request through `axios.request`, with the settings the transport needs whatever the instance's. */
export async function axiosRequest(
  client: AxiosInstance,
  { url, method, headers, body }: LeanRequest,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  { clock, maxBytes }: LeanOptions,
): Promise<HttpAnswer> {
  const config: AxiosRequestConfig & { clock: Clock } = {
    url: url.href,
    method,
    headers: headers as Record<string, string>,
    data: body,
    timeout: timeoutMs,
    signal,
    responseType: 'text',
    transformRequest: identity,
    transformResponse: identity,
    validateStatus: anyStatus,
    maxRedirects: 0,
    // Read at most this much of a response (axios destroys the stream past it).
    maxContentLength: maxBytes,
    // The lean adapter runs its attempt timer on the injected clock (other adapters ignore it).
    clock,
  };
  const { status, data, headers: answered } = await client.request(config);
  const text = typeof data === 'string' ? data : data == null ? '' : JSON.stringify(data);
  return { status, body: text, retryAfter: answered['retry-after'] };
}

/**
 * The axios adapter of the transport's own instance: {@link startLeanRequest} under axios's
 * pipeline, bounded by the config's `timeout` (on its `clock`) and `signal`.
 */
export const leanAdapter: AxiosAdapter = async (config) => {
  const url = new URL(config.url ?? '', config.baseURL);
  const { data, validateStatus } = config;
  const signal = config.signal as AbortSignal | undefined;
  const timeoutMs = config.timeout ?? 0;
  const answer = await new Promise<LeanResponse>((resolve, reject) => {
    if (signal?.aborted) return reject(new CanceledError(undefined, config, undefined));
    let timer: TimerHandle | undefined;
    let done = false;
    const finish: Done = (error, response) => {
      if (done) return;
      done = true;
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) return resolve(response!);
      reject(error);
      request.destroy();
    };
    const onAbort = () => finish(new CanceledError(undefined, config, request));
    const body = typeof data === 'string' ? data : data == null ? undefined : String(data);
    const request = startLeanRequest(
      {
        url,
        method: (config.method ?? 'get').toUpperCase(),
        headers: AxiosHeaders.from(config.headers).toJSON() as Record<string, string>,
        body,
      },
      {
        maxBytes: config.maxContentLength ?? -1,
        agent: url.protocol === 'https:' ? config.httpsAgent : config.httpAgent,
      },
      finish,
      config,
    );
    signal?.addEventListener('abort', onAbort);
    const clock = (config as { clock?: Clock }).clock ?? systemClock;
    if (timeoutMs > 0)
      timer = clock.setTimeout(() => finish(timeoutError(timeoutMs, request, config)), timeoutMs);
    request.end(body);
  });
  const { status, statusText, request } = answer;
  const headers = AxiosHeaders.from(answer.message.headers as Record<string, string>);
  const response: AxiosResponse = { data: answer.body, status, statusText, headers, config, request };
  if (!status || !validateStatus || validateStatus(status)) return response;
  const code = status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
  throw new AxiosError(`Request failed with status code ${status}`, code, config, request, response);
};

/**
 * For the transport's own instance: whether a request may skip axios's pipeline (config merging,
 * headers, transforms). True until an interceptor is installed or the instance's `defaults` are
 * read or replaced: from then on every request runs the pipeline, so that what was set takes effect.
 */
export function pipelineSkipper(instance: AxiosInstance): () => boolean {
  let touched = false;
  let defaults = instance.defaults;
  Object.defineProperty(instance, 'defaults', {
    configurable: true,
    enumerable: true,
    get() {
      touched = true;
      return defaults;
    },
    set(value: typeof defaults) {
      touched = true;
      defaults = value;
    },
  });
  const installed = (manager: { readonly handlers?: readonly unknown[] }) =>
    manager.handlers?.some(isSet) === true;
  const { request, response } = instance.interceptors;
  return () => !touched && !installed(request) && !installed(response);
}
