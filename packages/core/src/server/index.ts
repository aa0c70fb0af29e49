export * from './authentication.js';
export * from './create-server.js';
export * from './defaults.js';
export * from './implement.js';
export * from './in-flight-limit.js';
export * from './types.js';
