import { createServer, type RpcServer } from '@resilient-rpc/core';
import { type ListenOptions, listenerFor } from './listeners.js';
import { createService, type ServiceOptions } from './service.js';

export interface ReplicaServer {
  readonly server: RpcServer;
  readonly url: string;
  readonly service: ReturnType<typeof createService>;
  close(): Promise<void>;
}

/** Starts the example service on one transport. */
export async function startReplicaServer(
  options: ListenOptions,
  serviceOptions: ServiceOptions = {},
): Promise<ReplicaServer> {
  const service = createService(serviceOptions);
  const server = createServer({ methods: service.methods });
  const listener = await server.listen(listenerFor(options));
  const url = listener.urls[0];
  if (url === undefined) throw new Error(`the ${options.transport} listener reported no URL`);
  return { server, url, service, close: () => server.drain({ timeoutMs: 1_000 }) };
}
