import {
  createServer,
  defaultRandom,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type MethodTable,
  type RpcServer,
  type ServerOptions,
  systemClock,
  type WireMetadata,
} from '@resilient-rpc/core';
import {
  type WsConnection,
  type WsListener,
  type WsListenerOptions,
  wsListener,
  wsTransport,
} from '../src/index.js';
import type { WsTransportOptions } from '../src/ws-transport.js';

export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

export const methods: MethodTable = {
  echo: (params: unknown) => params,
  add: ([a, b]: [number, number]) => a + b,
  fail: () => {
    throw new Error('boom');
  },
  slow: async ([ms]: [number], context) => {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      context.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(context.signal.reason);
      });
    });
    return 'done';
  },
  meta: (_params: unknown, context) => context.metadata,
  headers: (_params: unknown, context) => context.credentials?.headers ?? null,
};

export interface Started {
  server: RpcServer;
  listener: WsListener;
  url: string;
}

export async function startServer(
  listenerOptions: WsListenerOptions = {},
  serverOptions: ServerOptions = {},
): Promise<Started> {
  const server = createServer({ methods, ...serverOptions });
  const listener = await server.listen(wsListener({ port: 0, ...listenerOptions }));
  return { server, listener, url: listener.urls[0]! };
}

export function connect(
  url: string,
  options: WsTransportOptions = {},
  headers?: Record<string, string>,
): WsConnection {
  return wsTransport(options).connect(url, {
    clock: systemClock,
    random: defaultRandom,
    ...(headers && { headers }),
  }) as WsConnection;
}

let nextId = 1;

/** One call through a connection with a fresh signal. */
export function call(
  connection: WsConnection,
  method: string,
  params?: unknown,
  options: { timeoutMs?: number; metadata?: WireMetadata; signal?: AbortSignal; id?: string | number } = {},
): Promise<JsonRpcResponse | undefined> {
  const request: JsonRpcRequest = {
    jsonrpc: '2.0',
    method,
    id: options.id ?? nextId++,
    ...(params !== undefined && { params: params as JsonRpcRequest['params'] }),
  };
  const timeoutMs = options.timeoutMs ?? 10_000;
  return connection.send(request, {
    signal: options.signal ?? AbortSignal.timeout(timeoutMs),
    timeoutMs,
    metadata: options.metadata ?? {},
  });
}

export function resultOf(response: JsonRpcResponse | undefined): unknown {
  if (response === undefined) throw new Error('no response');
  if ('error' in response) throw new Error(`remote error ${response.error.code}: ${response.error.message}`);
  return response.result;
}
