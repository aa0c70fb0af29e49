export * from './heartbeat.js';
export * from './latency-tracker.js';
export * from './outlier-detector.js';
export * from './phi-accrual.js';
