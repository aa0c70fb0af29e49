import type { ClientTransport } from '@resilient-rpc/core';
import { type NatsListenerOptions, type NatsServerListener, natsListener } from './listener.js';
import { parseNatsUrl } from './url.js';

/**
 * Server options of {@link natsTransport} that a listen URL does not carry: everything of
 * {@link NatsListenerOptions} except `servers` and `subject`, which come from the URL.
 */
export type NatsServerOptions = Omit<NatsListenerOptions, 'servers' | 'subject'>;

/** The server side of the NATS transport's options. */
export interface NatsTransportServerOptions {
  /**
   * Options of the listeners `transport.listen(url)` creates (queue group, discovery identity,
   * `maxInFlight`, nats.js connection options…); the URL gives the servers and the subject.
   * The transport's own `connection`, `user`, `pass`, `token`, `authenticator` and `tls` apply
   * to them too unless set here. Default: the {@link NatsListenerDefaults}.
   */
  server?: NatsServerOptions;
}

/** The NATS transport: a client transport that also creates listeners for listen URLs. */
export interface NatsTransport extends ClientTransport {
  /** The server side: a listener on the subject of `nats://host:port[,host2:port2]/<subject>`. */
  listen(url: string): NatsServerListener;
}

/** Connection options the client side shares with the listeners (one identity on the broker). */
const SHARED = ['connection', 'user', 'pass', 'token', 'authenticator', 'tls'] as const;

/**
 * Creates the NATS listener for a listen URL `nats://host:port[,host2:port2]/<subject>` (or
 * `tls://…`): it subscribes `<subject>` (queue group: the subject, unless `server.queue`) on
 * those brokers, so the listen URL and the client's endpoint URL are the same. `shared` holds
 * the transport's connection options that apply to listeners too. Throws a `TypeError` for a URL
 * that is not a NATS endpoint URL.
 */
export function listenNatsUrl(
  url: string,
  options: NatsServerOptions = {},
  shared: Pick<NatsServerOptions, (typeof SHARED)[number]> = {},
): NatsServerListener {
  const endpoint = parseNatsUrl(url);
  const inherited: Record<string, unknown> = {};
  for (const name of SHARED) if (shared[name] !== undefined) inherited[name] = shared[name];
  const listenerOptions: NatsListenerOptions = {
    ...inherited,
    ...options,
    servers: [...endpoint.servers],
    subject: endpoint.subject,
  };
  // A tls:// URL asks for TLS even when no TLS options were given (system CAs).
  if (endpoint.scheme === 'tls' && listenerOptions.tls === undefined) listenerOptions.tls = {};
  return natsListener(listenerOptions);
}
