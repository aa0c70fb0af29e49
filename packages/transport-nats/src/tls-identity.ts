import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { ConnectionOptions } from '@nats-io/transport-node';

/** The host part of a NATS server URL (`tls://user:pass@10.0.0.1:4222` → `10.0.0.1`). */
function hostOf(server: string): string {
  const authority = server.replace(/^[a-z]+:\/\//i, '');
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * nats.js upgrades to TLS on the already-open socket and sends no server name for an IP address,
 * so Node verifies the certificate against `localhost` instead of the IP that was dialled. For
 * servers given as IP addresses (and no `servername` / `checkServerIdentity` of the caller's), this
 * checks the certificate against those IPs. Other TLS options pass through untouched.
 */
export function withIpIdentity(
  tls: ConnectionOptions['tls'],
  servers: readonly string[],
): ConnectionOptions['tls'] {
  if (tls === undefined || tls === null || typeof tls !== 'object') return tls;
  const given = tls as Record<string, unknown>;
  if (given.checkServerIdentity !== undefined || given.servername !== undefined) return tls;
  const ips = servers.map(hostOf).filter((host) => isIP(host) !== 0);
  if (ips.length === 0) return tls;
  const named = servers.map(hostOf).filter((host) => isIP(host) === 0);
  const check = (host: string, cert: PeerCertificate): Error | undefined => {
    // A real name (a DNS server or a gossiped one) is checked as usual.
    if (host !== 'localhost' || named.includes('localhost')) return checkServerIdentity(host, cert);
    let first: Error | undefined;
    for (const ip of ips) {
      const error = checkServerIdentity(ip, cert);
      if (error === undefined) return undefined;
      first ??= error;
    }
    return first;
  };
  return { ...tls, checkServerIdentity: check } as ConnectionOptions['tls'];
}
