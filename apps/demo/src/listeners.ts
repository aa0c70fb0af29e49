/**
 * The one place where the three transports differ: which listener a replica serves on and
 * what an endpoint URL looks like. The client side is the same code for all three
 * (`createClient({ transports: clientTransports(), endpoints: urls })`).
 */
import type { ClientTransport, ServerListener } from '@resilient-rpc/core';
import { httpListener, httpTransport } from '@resilient-rpc/transport-http';
import { natsListener, natsTransport } from '@resilient-rpc/transport-nats';
import { wsListener, wsTransport } from '@resilient-rpc/transport-ws';

export type TransportName = 'http' | 'ws' | 'nats';
export const TRANSPORTS: readonly TransportName[] = ['http', 'ws', 'nats'];

export function isTransportName(value: string): value is TransportName {
  return (TRANSPORTS as readonly string[]).includes(value);
}

export interface ListenOptions {
  transport: TransportName;
  /** TCP port for http/ws (0 = a free one). */
  port: number;
  host?: string;
  /** NATS broker URL. */
  natsUrl?: string;
  /** NATS subject. */
  subject?: string;
}

/** The server listener for a transport. */
export function listenerFor(options: ListenOptions): ServerListener {
  const host = options.host ?? '127.0.0.1';
  switch (options.transport) {
    case 'http':
      return httpListener({ port: options.port, host });
    case 'ws':
      return wsListener({ port: options.port, host });
    case 'nats':
      if (options.natsUrl === undefined) throw new Error('--nats-url is required for the nats transport');
      return natsListener({ servers: options.natsUrl, subject: options.subject ?? 'demo.rpc' });
  }
}

/**
 * Every client transport: the endpoint URL's scheme picks one. `natsDiscovery: false` uses each
 * NATS URL as given instead of the instances discovered behind it (default on).
 */
export function clientTransports(options: { natsDiscovery?: boolean } = {}): ClientTransport[] {
  return [
    httpTransport(),
    wsTransport(),
    natsTransport(options.natsDiscovery === false ? { discovery: false } : {}),
  ];
}
