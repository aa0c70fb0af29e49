import type { Meter, ObservableResult, Attributes as OtelAttributes } from '@opentelemetry/api';
import type { EndpointState, RpcClient } from '@resilient-rpc/core';
import { Attributes, DURATION_BUCKETS_SECONDS, RPC_SYSTEM } from './attributes.js';

const ENDPOINT_STATES: readonly EndpointState[] = ['healthy', 'suspect', 'down', 'ejected', 'probing'];
const BREAKER_STATES = ['closed', 'open', 'half-open', 'off'] as const;

/**
 * Subscribes the client's events to counters and histograms, and registers observable gauges
 * read from `client.stats()`. Returns the function that detaches all of it.
 *
 * Instruments (all with `rpc.system` = `jsonrpc`):
 * - `rpc.client.calls` {rpc.method, resilient_rpc.endpoint, resilient_rpc.outcome}
 * - `rpc.client.attempts` {rpc.method, resilient_rpc.endpoint, resilient_rpc.outcome, resilient_rpc.hedge}
 * - `rpc.client.retries` {rpc.method, error.type}
 * - `rpc.client.hedges` {rpc.method, resilient_rpc.endpoint}
 * - `rpc.client.failovers` {rpc.method, resilient_rpc.from_endpoint, resilient_rpc.endpoint}
 * - `rpc.client.give_ups` {rpc.method, error.type}
 * - `rpc.client.budget_refusals` {rpc.method}
 * - `rpc.client.call.duration`, `rpc.client.attempt.duration` (histograms, seconds) {rpc.method, resilient_rpc.outcome}
 * - `rpc.client.endpoint.state`, `rpc.client.endpoint.breaker` (gauges: 1 for the current state, 0 for the others) {resilient_rpc.endpoint, resilient_rpc.state}
 * - `rpc.client.in_flight` (gauge) — calls in flight.
 */
export function instrumentClientMetrics(client: RpcClient, meter: Meter): () => void {
  const calls = meter.createCounter('rpc.client.calls', {
    description: 'Calls ended, by outcome.',
    unit: '{call}',
  });
  const attempts = meter.createCounter('rpc.client.attempts', {
    description: 'Attempts ended (first tries, retries, hedges, rescues), by outcome.',
    unit: '{attempt}',
  });
  const retries = meter.createCounter('rpc.client.retries', {
    description: 'Retries scheduled.',
    unit: '{retry}',
  });
  const hedges = meter.createCounter('rpc.client.hedges', {
    description: 'Hedged copies sent.',
    unit: '{hedge}',
  });
  const failovers = meter.createCounter('rpc.client.failovers', {
    description: 'Retries sent to a different endpoint than the attempt before.',
    unit: '{failover}',
  });
  const giveUps = meter.createCounter('rpc.client.give_ups', {
    description: 'Calls that failed for good.',
    unit: '{call}',
  });
  const budgetRefusals = meter.createCounter('rpc.client.budget_refusals', {
    description: 'Retries or hedges refused by the retry budget.',
    unit: '{refusal}',
  });
  const advice = { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] };
  const callDuration = meter.createHistogram('rpc.client.call.duration', {
    description: 'Duration of calls, all attempts included.',
    unit: 's',
    advice,
  });
  const attemptDuration = meter.createHistogram('rpc.client.attempt.duration', {
    description: 'Duration of single attempts.',
    unit: 's',
    advice,
  });
  const endpointState = meter.createObservableGauge('rpc.client.endpoint.state', {
    description: 'Endpoint health state: 1 for the current state, 0 for the others.',
  });
  const breakerState = meter.createObservableGauge('rpc.client.endpoint.breaker', {
    description: 'Circuit breaker state: 1 for the current state, 0 for the others.',
  });
  const inFlight = meter.createObservableGauge('rpc.client.in_flight', {
    description: 'Calls in flight.',
    unit: '{call}',
  });

  const base = (method: string): OtelAttributes => ({
    [Attributes.rpcSystem]: RPC_SYSTEM,
    [Attributes.rpcMethod]: method,
  });
  const unsubscribe = [
    client.on('call', (event) => {
      const outcome = event.ok ? 'ok' : (event.error?.kind ?? 'remote');
      const attributes = base(event.method);
      attributes[Attributes.outcome] = outcome;
      callDuration.record(event.latencyMs / 1000, attributes);
      if (event.endpoint !== undefined) attributes[Attributes.endpoint] = event.endpoint;
      calls.add(1, attributes);
    }),
    client.on('attempt', (event) => {
      if (!event.hedge) return;
      const attributes = base(event.method);
      attributes[Attributes.endpoint] = event.endpoint;
      hedges.add(1, attributes);
    }),
    client.on('attempt-result', (event) => {
      const attributes = base(event.method);
      attributes[Attributes.outcome] = event.outcome;
      attemptDuration.record(event.latencyMs / 1000, attributes);
      attributes[Attributes.endpoint] = event.endpoint;
      attempts.add(1, attributes);
    }),
    client.on('retry', (event) => {
      const attributes = base(event.method);
      attributes[Attributes.errorType] = event.cause.kind;
      retries.add(1, attributes);
    }),
    client.on('failover', (event) => {
      const attributes = base(event.method);
      attributes[Attributes.fromEndpoint] = event.from;
      attributes[Attributes.endpoint] = event.to;
      failovers.add(1, attributes);
    }),
    client.on('give-up', (event) => {
      const attributes = base(event.method);
      attributes[Attributes.errorType] = event.cause.kind;
      giveUps.add(1, attributes);
    }),
    client.on('budget-exhausted', (event) => {
      budgetRefusals.add(1, base(event.method));
    }),
  ];
  const observeStates = (result: ObservableResult) => {
    for (const endpoint of client.stats().endpoints) {
      for (const state of ENDPOINT_STATES) {
        result.observe(endpoint.state === state ? 1 : 0, {
          [Attributes.endpoint]: endpoint.url,
          [Attributes.state]: state,
        });
      }
    }
  };
  const observeBreakers = (result: ObservableResult) => {
    for (const endpoint of client.stats().endpoints) {
      for (const state of BREAKER_STATES) {
        result.observe(endpoint.breaker === state ? 1 : 0, {
          [Attributes.endpoint]: endpoint.url,
          [Attributes.state]: state,
        });
      }
    }
  };
  const observeInFlight = (result: ObservableResult) => {
    result.observe(client.stats().inFlight, { [Attributes.rpcSystem]: RPC_SYSTEM });
  };
  inFlight.addCallback(observeInFlight);
  endpointState.addCallback(observeStates);
  breakerState.addCallback(observeBreakers);
  return () => {
    for (const stop of unsubscribe) stop();
    endpointState.removeCallback(observeStates);
    breakerState.removeCallback(observeBreakers);
    inFlight.removeCallback(observeInFlight);
  };
}
