export * from './child.js';
export * from './nats-server.js';
export * from './net.js';
export * from './security.js';
export * from './tls.js';
