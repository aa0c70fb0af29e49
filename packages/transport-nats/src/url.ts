import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { ConnectionOptions } from '@nats-io/transport-node';

/** A parsed NATS endpoint URL: `nats://host:port[,host2:port2]/<subject>`. */
export interface NatsEndpoint {
  /** `nats` or `tls`. */
  readonly scheme: string;
  /** Server URLs for nats.js, e.g. `['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223']`. */
  readonly servers: readonly string[];
  /** The service subject requests are published to. */
  readonly subject: string;
  /** Identifies the server set; endpoints with the same key share one connection. */
  readonly key: string;
}

const URL_PATTERN = /^([a-z]+):\/\/([^/]*)\/(.*)$/i;
const notNatsUrl = (url: string): never => {
  throw new TypeError(`not a NATS endpoint URL (nats://host:port/<subject>): ${url}`);
};

/**
 * Parses a NATS endpoint URL. Several servers of one cluster are separated by commas:
 * `nats://10.0.0.1:4222,10.0.0.2:4222/orders.rpc`. The path (without its leading slash) is the subject.
 */
export function parseNatsUrl(url: string): NatsEndpoint {
  const [, given = '', hosts = '', path = ''] = URL_PATTERN.exec(url.trim()) ?? notNatsUrl(url);
  const [scheme, subject] = [given.toLowerCase(), decodeURIComponent(path)];
  if (scheme !== 'nats' && scheme !== 'tls')
    throw new TypeError(`unsupported NATS URL scheme "${scheme}" in ${url}`);
  validateSubject(subject, url);
  const servers = hosts
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host.length > 0)
    .map((host) => (hostOf(host).hasPort ? `${scheme}://${host}` : `${scheme}://${host}:4222`));
  if (servers.length === 0) throw new TypeError(`NATS endpoint URL names no server: ${url}`);
  return { scheme, servers, subject, key: `${scheme}|${[...servers].sort().join(',')}` };
}

/** The host of a server (`tls://user:pass@10.0.0.1:4222` → `10.0.0.1`) and whether a port follows it. */
function hostOf(server: string): { host: string; hasPort: boolean } {
  // Credentials in the authority (user:pass@host) are passed through to nats.js untouched.
  const authority = server.replace(/^[a-z]+:\/\//i, '');
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const end = hostPort.startsWith('[') ? hostPort.indexOf(']') + 1 : 0;
  const colon = hostPort.indexOf(':', end);
  const host = colon === -1 ? hostPort : hostPort.slice(0, colon);
  return { host: end > 0 ? host.slice(1, end - 1) : host, hasPort: colon !== -1 };
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
  const hosts = servers.map((server) => hostOf(server).host);
  const ips = hosts.filter((host) => isIP(host) !== 0);
  if (ips.length === 0) return tls;
  const check = (host: string, cert: PeerCertificate): Error | undefined => {
    // A real name (a DNS server or a gossiped one) is checked as usual.
    if (host !== 'localhost' || hosts.includes('localhost')) return checkServerIdentity(host, cert);
    const errors = ips.map((ip) => checkServerIdentity(ip, cert));
    return errors.includes(undefined) ? undefined : errors[0];
  };
  return { ...tls, checkServerIdentity: check } as ConnectionOptions['tls'];
}

/** Throws unless `subject` is a literal NATS subject (no wildcards, no empty tokens, no spaces). */
export function validateSubject(subject: string, context = subject): void {
  if (subject.length === 0) throw new TypeError(`NATS subject is empty (${context})`);
  if (/\s/.test(subject)) throw new TypeError(`NATS subject may not contain whitespace (${context})`);
  for (const token of subject.split('.')) {
    if (token.length === 0) throw new TypeError(`NATS subject has an empty token (${context})`);
    if (token === '*' || token === '>')
      throw new TypeError(`NATS subject may not contain wildcards (${context})`);
  }
}

/**
 * The same endpoint URL (scheme, credentials, servers) with another subject: the URL of one
 * instance behind a service URL, e.g. `nats://h1,h2/orders.rpc` → `nats://h1,h2/orders.rpc.<id>`.
 */
export function withSubject(url: string, subject: string): string {
  const [, scheme, hosts] = URL_PATTERN.exec(url.trim()) ?? notNatsUrl(url);
  validateSubject(subject);
  return `${scheme}://${hosts}/${subject.split('.').map(encodeURIComponent).join('.')}`;
}
