export * from './create-server.js';
export * from './types.js';
