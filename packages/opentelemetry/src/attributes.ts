/**
 * Attribute names and values. The `rpc.*`, `server.*`, `client.*` and `error.type` names follow the
 * OpenTelemetry semantic conventions for RPC spans and metrics; `resilient_rpc.*` names are this
 * library's own (attempt number, hedging, endpoint URL, health states).
 */
export const Attributes = {
  rpcSystem: 'rpc.system',
  rpcMethod: 'rpc.method',
  rpcJsonrpcVersion: 'rpc.jsonrpc.version',
  rpcJsonrpcErrorCode: 'rpc.jsonrpc.error_code',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  clientAddress: 'client.address',
  errorType: 'error.type',
  /** The endpoint URL as configured on the client (`http://host:port/rpc`, `nats://host:port/subject`). */
  endpoint: 'resilient_rpc.endpoint',
  /** 1 for the first attempt, 2 for the next retry or hedge, and so on. */
  attempt: 'resilient_rpc.attempt',
  /** Attempts a call made in all. */
  attempts: 'resilient_rpc.attempts',
  /** The attempt is a hedged or rescue copy running beside another attempt. */
  hedge: 'resilient_rpc.hedge',
  /** `ok`, or the failure kind (`timeout`, `connection-lost`, …) or JSON-RPC error code. */
  outcome: 'resilient_rpc.outcome',
  /** The server transport a request came on (`http`, `ws`, `nats`, `memory`). */
  transport: 'resilient_rpc.transport',
  /** An endpoint health state or breaker state (for the state gauges). */
  state: 'resilient_rpc.state',
  /** The endpoint a retry left (failover). */
  fromEndpoint: 'resilient_rpc.from_endpoint',
  /** Delay before a retry, in ms. */
  delayMs: 'resilient_rpc.delay_ms',
} as const;

/** The `rpc.system` value of every span and metric. */
export const RPC_SYSTEM = 'jsonrpc';

/** The `rpc.method` value used for method names the server does not know (bounded cardinality). */
export const OTHER_METHOD = '_OTHER';

/** The instrumentation scope name of the tracer and meter. */
export const INSTRUMENTATION_NAME = '@resilient-rpc/opentelemetry';

/** The instrumentation scope version. */
export const INSTRUMENTATION_VERSION = '0.1.0';

/**
 * Histogram bucket boundaries for call and attempt durations, in seconds (1 ms to 30 s; the
 * OpenTelemetry default buckets are meant for milliseconds and would put every RPC in the first).
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30,
];

/** Parsed endpoint addresses kept at most; endpoints are a small set, so the cache rarely fills. */
const MAX_CACHED_ADDRESSES = 1_000;
const addresses = new Map<string, { address: string; port: number | undefined } | undefined>();

/**
 * `server.address` and `server.port` of an endpoint URL (undefined for `memory://` and bad URLs).
 * Cached by URL: it is read on every attempt, and parsing a URL (throwing, for a bad one) costs
 * more than the rest of the attempt's instrumentation.
 */
export function addressOf(url: string): { address: string; port: number | undefined } | undefined {
  if (addresses.has(url)) return addresses.get(url);
  const parsed = parseAddress(url);
  if (addresses.size >= MAX_CACHED_ADDRESSES) addresses.clear();
  addresses.set(url, parsed);
  return parsed;
}

function parseAddress(url: string): { address: string; port: number | undefined } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.hostname === '') return undefined;
  const port = parsed.port === '' ? undefined : Number(parsed.port);
  // IPv6 hosts come bracketed from URL; semantic conventions want the bare address.
  const address = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { address, port };
}
