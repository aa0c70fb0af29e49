export * from './errors/index.js';
export * from './protocol/index.js';
export * from './server/index.js';
export * from './transport.js';
export * from './util/clock.js';
export * from './util/random.js';
