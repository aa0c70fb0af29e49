/**
 * The transports the demo has installed, registered once on both sides: a replica's listen URL
 * and the client's endpoint URLs pick one by their scheme (`http://`, `ws://`, `nats://`), so
 * neither the service nor the client holds transport-specific code.
 */
import type { ClientTransport } from '@resilient-rpc/core';
import { httpTransport } from '@resilient-rpc/transport-http';
import { natsTransport } from '@resilient-rpc/transport-nats';
import { wsTransport } from '@resilient-rpc/transport-ws';

/** Every installed transport, new instances (a client closes the transports it was given). */
export function installedTransports(): ClientTransport[] {
  return [httpTransport(), wsTransport(), natsTransport()];
}
