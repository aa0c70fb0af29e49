import {
  createServer,
  type JsonRpcRequest,
  type MethodTable,
  type RpcServer,
  type SendOptions,
  type ServerOptions,
  systemClock,
} from '@resilient-rpc/core';
import {
  type HttpListener,
  type HttpListenerOptions,
  type HttpTransportOptions,
  httpListener,
  httpTransport,
} from '../src/index.js';

export const echoMethods: MethodTable = {
  echo: (params: unknown) => params,
  sleep: async ([ms]: [number], context) => {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      context.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(context.signal.reason);
      });
    });
    return ms;
  },
  fail: () => {
    throw new Error('boom');
  },
  meta: (_params: unknown, context) => ({ metadata: context.metadata, remoteAddress: context.remoteAddress }),
  whoami: (_params: unknown, context) => ({ headers: context.credentials?.headers, auth: context.auth }),
};

export interface Started {
  server: RpcServer;
  listener: HttpListener;
  url: string;
  origin: string;
}

export async function startServer(
  options: ServerOptions = {},
  listenerOptions: HttpListenerOptions = {},
): Promise<Started> {
  const server = createServer({ methods: echoMethods, ...options });
  const listener = await server.listen(httpListener({ port: 0, ...listenerOptions }));
  const url = listener.urls[0]!;
  return { server, listener, url, origin: new URL(url).origin };
}

export function connect(url: string, options: HttpTransportOptions = {}, headers?: Record<string, string>) {
  const transport = httpTransport(options);
  const connection = transport.connect(url, {
    clock: systemClock,
    random: Math.random,
    ...(headers !== undefined && { headers }),
  });
  return { transport, connection };
}

let nextId = 1;
export function request(method: string, params?: unknown): JsonRpcRequest {
  return { ...notification(method, params), id: nextId++ };
}

export function notification(method: string, params?: unknown): JsonRpcRequest {
  const message: JsonRpcRequest = { jsonrpc: '2.0', method };
  if (params !== undefined) message.params = params as JsonRpcRequest['params'];
  return message;
}

export function sendOptions(timeoutMs = 5_000, extra: Partial<SendOptions> = {}): SendOptions {
  return { signal: new AbortController().signal, timeoutMs, metadata: {}, ...extra };
}

/** Runs `fn` and returns the error it rejects with (fails if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}
