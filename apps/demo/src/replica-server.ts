import { createServer, type RpcServer } from '@resilient-rpc/core';
import { createService, type ServiceOptions } from './service.js';
import { installedTransports } from './transports.js';

export interface ReplicaServer {
  readonly server: RpcServer;
  /** The client URL of each listen URL, in order (real ports for port 0). */
  readonly urls: readonly string[];
  readonly service: ReturnType<typeof createService>;
  close(): Promise<void>;
}

/**
 * Starts the example service on listen URLs (`http://127.0.0.1:0/rpc`, `ws://0.0.0.0:8080/rpc`,
 * `nats://127.0.0.1:4222/demo.rpc`): the URL's scheme picks the transport.
 */
export async function startReplicaServer(
  listenUrls: readonly string[],
  serviceOptions: ServiceOptions = {},
): Promise<ReplicaServer> {
  if (listenUrls.length === 0) throw new Error('give at least one listen URL');
  const service = createService(serviceOptions);
  const server = createServer({ methods: service.methods, transports: installedTransports() });
  const urls: string[] = [];
  try {
    for (const listenUrl of listenUrls) {
      const listener = await server.listen(listenUrl);
      const url = listener.urls[0];
      if (url === undefined) throw new Error(`the listener on ${listenUrl} reported no URL`);
      urls.push(url);
    }
  } catch (error) {
    await server.close();
    throw error;
  }
  return { server, urls, service, close: () => server.drain({ timeoutMs: 1_000 }) };
}
