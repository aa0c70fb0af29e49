export * from './backoff.js';
export * from './balancer.js';
export * from './bulkhead.js';
export * from './circuit-breaker.js';
export * from './reconnect.js';
export * from './retry-budget.js';
