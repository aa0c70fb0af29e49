import type { NatsConnection } from '@nats-io/transport-node';

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

/**
 * Service metadata keys a resilient-rpc listener announces in every `$SRV` answer. Clients read
 * them to find the instances behind a subject (`natsTransport().discover`).
 */
export const ServiceMetadataKeys = {
  /** `jsonrpc-2.0`. */
  protocol: 'rpc.protocol',
  /** The service (queue group) subject. */
  subject: 'rpc.subject',
  /** The subject only this instance subscribes: `<subject>.<service id>`. */
  instanceSubject: 'rpc.instance-subject',
} as const;

/** Counters of one `$SRV` endpoint (a subscription of the listener), as its STATS answer reports them. */
export class ServiceEndpointCounters {
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

/** A running `$SRV` responder of one listener. */
export interface DiscoveryResponder {
  readonly id: string;
  readonly name: string;
  stop(): void;
}

/** What the responder announces: the instance id, its subjects and their counters. */
type DiscoveryEndpoint = Readonly<Record<'id' | 'subject' | 'queue' | 'instanceSubject', string>> &
  Readonly<Record<'stats' | 'instanceStats', ServiceEndpointCounters>>;

/**
 * Subscribes the nine discovery subjects (no queue group: every instance answers) and answers
 * them with the standard JSON documents. Two endpoints are announced: the service subject (the
 * queue group) and the instance's own subject; the service metadata names both, so that a
 * client's PING round (the smallest answer) finds every instance of a subject.
 */
export function startDiscovery(
  nc: NatsConnection,
  identity: ServiceIdentityOptions,
  { id, subject, queue, instanceSubject, stats, instanceStats }: DiscoveryEndpoint,
): DiscoveryResponder {
  const name = identity.name ?? serviceNameFor(subject);
  if (!/^[-\w]+$/.test(name)) throw new TypeError(`invalid NATS service name "${name}": use [-A-Za-z0-9_]`);
  const version = identity.version ?? '0.0.0';
  const metadata = {
    ...identity.metadata,
    [ServiceMetadataKeys.protocol]: 'jsonrpc-2.0',
    [ServiceMetadataKeys.subject]: subject,
    [ServiceMetadataKeys.instanceSubject]: instanceSubject,
  };
  const endpointName = identity.endpointName ?? 'rpc';
  const started = new Date().toISOString();
  const announced = { name, id, version, metadata };
  const endpoints = [
    { base: { name: endpointName, subject, queue_group: queue }, counters: stats },
    {
      base: { name: `${endpointName}-instance`, subject: instanceSubject, queue_group: queue },
      counters: instanceStats,
    },
  ];
  const ping = JSON.stringify({ type: ServiceResponseTypes.ping, ...announced });
  const info = JSON.stringify({
    type: ServiceResponseTypes.info,
    ...announced,
    description: identity.description ?? '',
    endpoints: endpoints.map(({ base }) => ({ ...base, metadata: { protocol: 'jsonrpc-2.0' } })),
  });
  const statsDocument = () =>
    JSON.stringify({
      type: ServiceResponseTypes.stats,
      ...announced,
      started,
      endpoints: endpoints.map(({ base, counters: { requests, errors, lastError, processingNs } }) => ({
        ...base,
        num_requests: requests,
        num_errors: errors,
        last_error: lastError,
        processing_time: processingNs,
        average_processing_time: requests === 0 ? 0 : Math.round(processingNs / requests),
      })),
    });
  const bodies = { PING: () => ping, INFO: () => info, STATS: statsDocument };
  const subscriptions = Object.entries(bodies).flatMap(([verb, body]) =>
    ['', `.${name}`, `.${name}.${id}`].map((suffix) =>
      nc.subscribe(`${SERVICE_API_PREFIX}.${verb}${suffix}`, {
        callback: (error, msg) => {
          if (error === null && msg.reply) msg.respond(body());
        },
      }),
    ),
  );
  return {
    id,
    name,
    stop() {
      for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    },
  };
}
