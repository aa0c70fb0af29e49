export * from './codes.js';
export * from './messages.js';
export * from './metadata.js';
export * from './types.js';
