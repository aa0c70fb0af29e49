export * from './kinds.js';
export * from './rpc-error.js';
