export * from './conformance.js';
export * from './fault-injector.js';
export * from './manual-clock.js';
export * from './memory-transport.js';
