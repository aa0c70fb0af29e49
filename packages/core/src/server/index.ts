export * from './create-server.js';
export * from './implement.js';
export * from './types.js';
