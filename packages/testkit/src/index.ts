export * from './child.js';
export * from './net.js';
