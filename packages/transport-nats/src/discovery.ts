import type { NatsConnection, Subscription } from '@nats-io/transport-node';

/** The NATS micro-services discovery prefix (ADR-32): `$SRV.PING|INFO|STATS[.<name>[.<id>]]`. */
export const SERVICE_API_PREFIX = '$SRV';

/** Response `type` values of the discovery API. */
export const ServiceResponseTypes = {
  ping: 'io.nats.micro.v1.ping_response',
  info: 'io.nats.micro.v1.info_response',
  stats: 'io.nats.micro.v1.stats_response',
} as const;

/** How the service presents itself to NATS tooling (`nats micro ls`, `nats micro info`). */
export interface ServiceIdentityOptions {
  /** Service name, `[-A-Za-z0-9_]+`. Default: the subject with other characters replaced by `_`. */
  name?: string;
  /** Semantic version. Default `0.0.0`. */
  version?: string;
  description?: string;
  /** Service metadata (strings). `rpc.protocol: jsonrpc-2.0` is always added. */
  metadata?: Record<string, string>;
  /** Endpoint name in INFO/STATS. Default `rpc`. */
  endpointName?: string;
}

/** Per-endpoint counters the STATS response reports. */
export class EndpointStats {
  requests = 0;
  errors = 0;
  lastError = '';
  processingNs = 0;

  record(elapsedMs: number, error: string | undefined): void {
    this.requests++;
    this.processingNs += Math.round(elapsedMs * 1e6);
    if (error !== undefined) {
      this.errors++;
      this.lastError = error;
    }
  }
}

/** Valid service names: letters, digits, `-` and `_`. */
export function serviceNameFor(subject: string): string {
  const name = subject.replace(/[^-\w]/g, '_');
  return name.length > 0 ? name : 'service';
}

export interface DiscoveryResponder {
  readonly id: string;
  readonly name: string;
  stop(): void;
}

/**
 * Subscribes the nine discovery subjects (no queue group: every instance answers) and answers
 * them with the standard JSON documents.
 */
export function startDiscovery(
  nc: NatsConnection,
  options: {
    id: string;
    identity: ServiceIdentityOptions;
    subject: string;
    queue: string;
    stats: EndpointStats;
  },
): DiscoveryResponder {
  const { id, subject, queue, stats } = options;
  const name = options.identity.name ?? serviceNameFor(subject);
  if (!/^[-\w]+$/.test(name)) throw new TypeError(`invalid NATS service name "${name}": use [-A-Za-z0-9_]`);
  const version = options.identity.version ?? '0.0.0';
  const metadata = { ...options.identity.metadata, 'rpc.protocol': 'jsonrpc-2.0' };
  const endpointName = options.identity.endpointName ?? 'rpc';
  const started = new Date().toISOString();
  const identity = { name, id, version, metadata };
  const ping = JSON.stringify({ type: ServiceResponseTypes.ping, ...identity });
  const info = () =>
    JSON.stringify({
      type: ServiceResponseTypes.info,
      ...identity,
      description: options.identity.description ?? '',
      endpoints: [{ name: endpointName, subject, queue_group: queue, metadata: { protocol: 'jsonrpc-2.0' } }],
    });
  const statsDocument = () =>
    JSON.stringify({
      type: ServiceResponseTypes.stats,
      ...identity,
      started,
      endpoints: [
        {
          name: endpointName,
          subject,
          queue_group: queue,
          num_requests: stats.requests,
          num_errors: stats.errors,
          last_error: stats.lastError,
          processing_time: stats.processingNs,
          average_processing_time: stats.requests === 0 ? 0 : Math.round(stats.processingNs / stats.requests),
        },
      ],
    });
  const subscriptions: Subscription[] = [];
  const verbs: Array<[string, () => string]> = [
    ['PING', () => ping],
    ['INFO', info],
    ['STATS', statsDocument],
  ];
  for (const [verb, body] of verbs) {
    for (const discoverySubject of [
      `${SERVICE_API_PREFIX}.${verb}`,
      `${SERVICE_API_PREFIX}.${verb}.${name}`,
      `${SERVICE_API_PREFIX}.${verb}.${name}.${id}`,
    ]) {
      subscriptions.push(
        nc.subscribe(discoverySubject, {
          callback: (error, msg) => {
            if (error === null && msg.reply) msg.respond(body());
          },
        }),
      );
    }
  }
  return {
    id,
    name,
    stop() {
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}
