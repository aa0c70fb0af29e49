import {
  type ClientRequest,
  type Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type Clock, systemClock, type TimerHandle } from '@resilient-rpc/core';
import {
  type AxiosAdapter,
  AxiosError,
  AxiosHeaders,
  type AxiosInstance,
  type AxiosResponse,
  CanceledError,
  type InternalAxiosRequestConfig,
} from 'axios';

/** A request config that carries the connection's injected clock (for the attempt timer). */
export interface ClockedRequestConfig {
  clock?: Clock;
}

/** One exchange of {@link leanRequest}. */
export interface LeanRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /** Wall-clock bound on the whole exchange, ms; 0: none. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** Largest body read, bytes; -1: no limit. */
  readonly maxBytes: number;
  readonly clock: Clock;
  readonly agent: HttpAgent | HttpsAgent | undefined;
}

/** The answer of {@link leanRequest}: any status, the body as UTF-8 text. */
export interface LeanResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly request: ClientRequest;
}

/**
 * One `node:http(s).request` on the keep-alive agent, the body read as UTF-8 text: what a JSON-RPC
 * POST without redirects needs, and nothing of what axios's stock adapter adds (follow-redirects,
 * proxies, streams, decompression, progress events, form data), which is most of a small call's
 * client cost. Failures keep the stock adapter's shape (an `AxiosError` with the Node.js code,
 * `request`, and `timeout of N ms exceeded` / `ECONNABORTED`), so `mapHttpError` maps both alike.
 */
export function leanRequest(
  exchange: LeanRequest,
  config?: InternalAxiosRequestConfig,
): Promise<LeanResponse> {
  return new Promise<LeanResponse>((resolve, reject) => {
    const { url, signal, body } = exchange;
    const https = url.protocol === 'https:';
    if (body !== undefined) exchange.headers['Content-Length'] = String(Buffer.byteLength(body));
    let done = false;
    let timer: TimerHandle | undefined;
    const finish = (error: Error | undefined, response?: LeanResponse) => {
      if (done) return;
      done = true;
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(response!);
      else reject(error);
      if (error !== undefined) request.destroy();
    };
    const onAbort = () => finish(new CanceledError(undefined, config, request));
    if (signal?.aborted) {
      reject(new CanceledError(undefined, config, undefined));
      return;
    }
    const request: ClientRequest = (https ? httpsRequest : httpRequest)(
      {
        protocol: url.protocol,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: exchange.method,
        headers: exchange.headers,
        agent: exchange.agent,
      },
      (response) => read(response, exchange.maxBytes, config, request, finish),
    );
    request.on('error', (error) =>
      finish(AxiosError.from(error, (error as { code?: string }).code, config, request)),
    );
    signal?.addEventListener('abort', onAbort);
    const timeoutMs = exchange.timeoutMs;
    if (timeoutMs > 0) {
      timer = exchange.clock.setTimeout(
        () =>
          finish(
            new AxiosError(`timeout of ${timeoutMs}ms exceeded`, AxiosError.ECONNABORTED, config, request),
          ),
        timeoutMs,
      );
    }
    request.end(body);
  });
}

function read(
  response: IncomingMessage,
  limit: number,
  config: InternalAxiosRequestConfig | undefined,
  request: ClientRequest,
  finish: (error: Error | undefined, response?: LeanResponse) => void,
): void {
  const chunks: Buffer[] = [];
  let length = 0;
  const badResponse = (message: string) =>
    finish(new AxiosError(message, AxiosError.ERR_BAD_RESPONSE, config, request));
  response.on('data', (chunk: Buffer) => {
    length += chunk.length;
    if (limit > -1 && length > limit) {
      badResponse(`maxContentLength size of ${limit} exceeded`);
      response.destroy();
    } else chunks.push(chunk);
  });
  response.on('error', (error) =>
    finish(AxiosError.from(error, (error as { code?: string }).code, config, request)),
  );
  response.on('aborted', () => badResponse('stream has been aborted'));
  response.on('end', () =>
    finish(undefined, {
      status: response.statusCode ?? 0,
      statusText: response.statusMessage ?? '',
      headers: response.headers,
      body:
        chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, length).toString('utf8'),
      request,
    }),
  );
}

/**
 * The axios adapter of the instance the transport creates: {@link leanRequest} under axios's
 * request pipeline (interceptors, transforms, `validateStatus`), which runs only once something
 * was installed on that instance (see {@link pipelineSkipper}).
 */
export const leanAdapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
  const url = new URL(config.url ?? '', config.baseURL);
  const data = config.data;
  const answer = await leanRequest(
    {
      url,
      method: (config.method ?? 'get').toUpperCase(),
      headers: AxiosHeaders.from(config.headers).toJSON() as Record<string, string>,
      body: typeof data === 'string' ? data : data == null ? undefined : String(data),
      timeoutMs: config.timeout ?? 0,
      signal: config.signal as AbortSignal | undefined,
      maxBytes: config.maxContentLength ?? -1,
      clock: (config as ClockedRequestConfig).clock ?? systemClock,
      agent: (url.protocol === 'https:' ? config.httpsAgent : config.httpAgent) as HttpAgent | undefined,
    },
    config,
  );
  const { status } = answer;
  const response: AxiosResponse = {
    data: answer.body,
    status,
    statusText: answer.statusText,
    headers: AxiosHeaders.from(answer.headers as Record<string, string>),
    config,
    request: answer.request,
  };
  if (!status || !config.validateStatus || config.validateStatus(status)) return response;
  throw new AxiosError(
    `Request failed with status code ${status}`,
    status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE,
    config,
    answer.request,
    response,
  );
};

function hasHandlers(manager: { readonly handlers?: readonly unknown[] }): boolean {
  for (const handler of manager.handlers ?? []) if (handler != null) return true;
  return false;
}

/**
 * For the instance the transport creates: whether a request may skip axios's pipeline and go to
 * {@link leanRequest} directly with a config the transport prepared once. True until an
 * interceptor is installed or the instance's `defaults` are read or replaced (from then on every
 * request runs the whole pipeline, so that what was configured takes effect).
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
  const { request, response } = instance.interceptors;
  return () => !touched && !hasHandlers(request) && !hasHandlers(response);
}
