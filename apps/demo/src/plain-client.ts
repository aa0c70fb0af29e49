/**
 * The baseline: a plain client. Round-robin over every endpoint, dead ones included; one attempt
 * per call; no retries, no hedging, no rescue, no heartbeat, no stall or outlier detection, no
 * breaker, and no routing by connection status.
 *
 * The core client routes around an endpoint whose connection is down, whatever its policies; so
 * the plain client holds one single-endpoint core client per replica (every policy off) and does
 * the round-robin itself. A call to a dead replica fails on that replica, as it would with any
 * client that does not look at health. Its events are the sub-clients' events, so every count
 * the report prints (retries, failovers, hedges: zero unless something is wrong) comes from them.
 */
import {
  type AvailabilityEventSource,
  type CallOptions,
  type ClientEvents,
  type ClientTransport,
  createClient,
  type JsonRpcParams,
  type RpcClient,
  seededRandom,
} from '@resilient-rpc/core';

/** What the plain client turns off in each of its single-endpoint clients. */
export const PLAIN_POLICIES = {
  retry: false,
  retryBudget: false,
  outlierDetection: false,
  heartbeat: false,
  stallDetection: false,
  circuitBreaker: false,
  hedging: false,
  rescue: false,
  balancer: 'round-robin',
} as const;

/** Options of {@link PlainClient}. */
export interface PlainClientOptions {
  transports: readonly ClientTransport[];
  endpoints: readonly string[];
  /** Deadline of each call, ms. */
  deadlineMs: number;
  seed: number;
}

/** A call placed by the plain client, with the endpoint round-robin gave it. */
export interface RoutedCall {
  endpoint: string;
  result: Promise<unknown>;
}

/** Round-robin over every endpoint, one attempt per call, no health. */
export class PlainClient implements AvailabilityEventSource {
  private readonly clients: RpcClient[];
  private readonly endpoints: readonly string[];
  private nextIndex = 0;

  constructor(options: PlainClientOptions) {
    if (options.endpoints.length === 0) throw new Error('the plain client needs at least one endpoint');
    this.endpoints = options.endpoints;
    this.clients = options.endpoints.map((url, i) =>
      createClient({
        ...PLAIN_POLICIES,
        transports: options.transports,
        endpoints: [url],
        deadlineMs: options.deadlineMs,
        random: seededRandom(options.seed + i),
      }),
    );
  }

  /** Sends one call to the next endpoint in turn. */
  route(method: string, params?: JsonRpcParams, options?: CallOptions): RoutedCall {
    const index = this.nextIndex;
    this.nextIndex = (this.nextIndex + 1) % this.clients.length;
    return { endpoint: this.endpoints[index]!, result: this.clients[index]!.call(method, params, options) };
  }

  call(method: string, params?: JsonRpcParams, options?: CallOptions): Promise<unknown> {
    return this.route(method, params, options).result;
  }

  /**
   * Subscribes to every sub-client. Call ids are made unique across them (id·k + index, k the
   * number of endpoints), since a tracker keys in-flight calls by id.
   */
  on<K extends keyof ClientEvents>(name: K, listener: (event: ClientEvents[K]) => void): () => void {
    const k = this.clients.length;
    const offs = this.clients.map((client, index) =>
      client.on(name, (event) => {
        const withId = event as ClientEvents[K] & { callId?: number };
        if (typeof withId.callId === 'number') listener({ ...withId, callId: withId.callId * k + index });
        else listener(event);
      }),
    );
    return () => {
      for (const off of offs) off();
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()));
  }
}
