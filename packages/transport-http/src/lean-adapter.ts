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
  type AxiosResponse,
  CanceledError,
  type InternalAxiosRequestConfig,
} from 'axios';

/** A request config that carries the connection's injected clock (for the attempt timer). */
export interface ClockedRequestConfig {
  clock?: Clock;
}

/**
 * An axios adapter for the transport's own JSON-RPC exchanges: one `node:http(s).request` on the
 * keep-alive agent, the body read as UTF-8 text. axios's request pipeline (interceptors,
 * transforms, `validateStatus`) runs around it unchanged; what the stock adapter adds and a
 * JSON-RPC POST without redirects never needs (follow-redirects, proxies, streams, decompression,
 * progress events, form data) is left out, which is most of a small call's client cost.
 *
 * Failures keep the stock adapter's shape (an `AxiosError` with the Node.js code, `request`, and
 * `timeout of N ms exceeded` / `ECONNABORTED`), so `mapHttpError` maps both alike. Only used
 * on the axios instance the transport creates itself; a user's instance keeps its own adapter.
 */
export const leanAdapter: AxiosAdapter = (config: InternalAxiosRequestConfig) =>
  new Promise<AxiosResponse>((resolve, reject) => {
    const url = new URL(config.url ?? '', config.baseURL);
    const https = url.protocol === 'https:';
    const body =
      typeof config.data === 'string' ? config.data : config.data == null ? undefined : String(config.data);
    const headers = AxiosHeaders.from(config.headers).toJSON() as Record<string, string>;
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const options = {
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: (config.method ?? 'get').toUpperCase(),
      headers,
      agent: (https ? config.httpsAgent : config.httpAgent) as HttpAgent | HttpsAgent | undefined,
    };
    const signal = config.signal as AbortSignal | undefined;
    let done = false;
    let timer: TimerHandle | undefined;
    const finish = (error: Error | undefined, response?: AxiosResponse) => {
      if (done) return;
      done = true;
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(response as AxiosResponse);
      else reject(error);
    };
    const fail = (error: Error, code?: string) => {
      finish(AxiosError.from(error, code ?? (error as { code?: string }).code, config, request));
      request.destroy();
    };
    const onAbort = () => {
      finish(new CanceledError(undefined, config, request));
      request.destroy();
    };
    if (signal?.aborted) {
      reject(new CanceledError(undefined, config, undefined));
      return;
    }
    const request: ClientRequest = (https ? httpsRequest : httpRequest)(options, (response) =>
      read(response, config, request, finish),
    );
    request.on('error', (error) => fail(error));
    signal?.addEventListener('abort', onAbort);
    const timeoutMs = config.timeout ?? 0;
    if (timeoutMs > 0) {
      // A wall-clock bound on the whole exchange, as the stock adapter has for `maxRedirects: 0`.
      const clock = (config as ClockedRequestConfig).clock ?? systemClock;
      timer = clock.setTimeout(() => {
        finish(
          new AxiosError(`timeout of ${timeoutMs}ms exceeded`, AxiosError.ECONNABORTED, config, request),
        );
        request.destroy();
      }, timeoutMs);
    }
    request.end(body);
  });

function read(
  response: IncomingMessage,
  config: InternalAxiosRequestConfig,
  request: ClientRequest,
  finish: (error: Error | undefined, response?: AxiosResponse) => void,
): void {
  const limit = config.maxContentLength ?? -1;
  const chunks: Buffer[] = [];
  let length = 0;
  response.on('data', (chunk: Buffer) => {
    length += chunk.length;
    if (limit > -1 && length > limit) {
      finish(
        new AxiosError(
          `maxContentLength size of ${limit} exceeded`,
          AxiosError.ERR_BAD_RESPONSE,
          config,
          request,
        ),
      );
      response.destroy();
      request.destroy();
      return;
    }
    chunks.push(chunk);
  });
  response.on('error', (error) =>
    finish(AxiosError.from(error, (error as { code?: string }).code, config, request)),
  );
  response.on('aborted', () =>
    finish(new AxiosError('stream has been aborted', AxiosError.ERR_BAD_RESPONSE, config, request)),
  );
  response.on('end', () => {
    const status = response.statusCode ?? 0;
    const answer: AxiosResponse = {
      data:
        chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, length).toString('utf8'),
      status,
      statusText: response.statusMessage ?? '',
      headers: AxiosHeaders.from(response.headers as Record<string, string>),
      config,
      request,
    };
    const validateStatus = config.validateStatus;
    if (!status || !validateStatus || validateStatus(status)) finish(undefined, answer);
    else
      finish(
        new AxiosError(
          `Request failed with status code ${status}`,
          status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE,
          config,
          request,
          answer,
        ),
      );
  });
}
