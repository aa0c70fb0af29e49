import type { FailureKind, RpcError } from '../errors/rpc-error.js';

/** The health state of one endpoint, as the client sees it. */
export type EndpointState = 'healthy' | 'suspect' | 'down' | 'ejected' | 'probing';

/**
 * Every event a client emits, by name. Each carries `at`: a reading of the client's clock, in ms
 * on a monotonic scale (`performance.now()` with the system clock), not a wall-clock time — only
 * differences between `at` values are meaningful (for a timestamp, call `Date.now()` in the listener).
 */
export interface ClientEvents {
  /** An attempt (first try, retry or hedge) is sent to an endpoint. */
  attempt: { at: number; callId: number; method: string; endpoint: string; attempt: number; hedge: boolean };
  /** An attempt finished. `outcome` is `success` or the failure kind. */
  'attempt-result': {
    at: number;
    callId: number;
    method: string;
    endpoint: string;
    attempt: number;
    outcome: 'success' | FailureKind;
    latencyMs: number;
    error?: RpcError;
  };
  /** The call will be tried again after `delayMs`. */
  retry: { at: number; callId: number; method: string; attempt: number; delayMs: number; cause: RpcError };
  /** A retry goes to a different endpoint than the attempt before it. */
  failover: { at: number; callId: number; method: string; from: string; to: string; attempt: number };
  /** A hedged copy of the call was sent. */
  hedge: { at: number; callId: number; method: string; endpoint: string; attempt: number };
  /** The call failed for good. */
  'give-up': { at: number; callId: number; method: string; attempts: number; cause: RpcError };
  /** A retry or hedge was refused by the retry budget. */
  'budget-exhausted': { at: number; callId: number; method: string };
  /** A call ended (exactly once per call). */
  call: {
    at: number;
    callId: number;
    method: string;
    ok: boolean;
    latencyMs: number;
    attempts: number;
    endpoint: string | undefined;
    error?: RpcError;
  };
  /** An endpoint's health state changed. */
  'endpoint-state': { at: number; endpoint: string; from: EndpointState; to: EndpointState; reason: string };
  /** An endpoint's circuit breaker changed state. */
  'breaker-state': {
    at: number;
    endpoint: string;
    from: 'closed' | 'open' | 'half-open';
    to: 'closed' | 'open' | 'half-open';
  };
  /** The endpoint set changed. */
  'endpoint-added': { at: number; endpoint: string };
  'endpoint-removed': { at: number; endpoint: string };
}

export type ClientEventName = keyof ClientEvents;
export type ClientEventListener<K extends ClientEventName> = (event: ClientEvents[K]) => void;
