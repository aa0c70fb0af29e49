/**
 * The transports the demo has installed, registered once on both sides: a replica's listen URL
 * and the client's endpoint URLs pick one by their scheme (`http://`, `ws://`, `nats://`), so
 * neither the service nor the client holds transport-specific code.
 */
import type { ClientTransport } from '@resilient-rpc/core';
import { httpTransport } from '@resilient-rpc/transport-http';
import { natsTransport } from '@resilient-rpc/transport-nats';
import { wsTransport } from '@resilient-rpc/transport-ws';

/**
 * Every installed transport, new instances (a client closes the transports it was given).
 * `natsDiscovery: false` makes a client use each NATS URL as given instead of discovering the
 * instances behind it (the demo's report follows replicas by URL, and each replica has a subject
 * of its own).
 */
export function installedTransports(options: { natsDiscovery?: boolean } = {}): ClientTransport[] {
  return [
    httpTransport(),
    wsTransport(),
    natsTransport(options.natsDiscovery === false ? { discovery: false } : {}),
  ];
}
