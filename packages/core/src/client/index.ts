export * from './create-client.js';
export * from './defaults.js';
export type { ApiProxy } from './proxy.js';
export * from './types.js';
