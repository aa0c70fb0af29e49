import { createServer } from '@resilient-rpc/core';
import { describe, expect, it } from 'vitest';
import { createHttpHandler, httpListener, httpTransport } from '../src/index.js';

const inf = Number.POSITIVE_INFINITY;
const nan = Number.NaN;

/**
 * Numeric options that would misbehave quietly (a negative socket limit that never opens a
 * socket, a NaN that turns a limit or a timer off, an infinite timer that fires at once) or fail
 * late under node:http's own names are refused when the transport, listener or handler is made,
 * naming the option and the value.
 */
describe('HTTP option checks', () => {
  it.each([
    ['maxSockets', [0, -1, nan, 1.5]],
    ['maxFreeSockets', [0, -1, nan]],
    ['idleSocketTimeoutMs', [-1, nan, inf]],
  ])('httpTransport refuses %s = each of %o', (name, values) => {
    for (const value of values)
      expect(() => httpTransport({ [name]: value })).toThrow(
        new RangeError(`httpTransport: ${name} must be a ${kindOf(name)} (got ${String(value)})`),
      );
  });

  it.each([
    ['maxConnections', [0, -1, nan, 2.5]],
    ['maxInFlightPerConnection', [0, nan, 1.5]],
    ['maxConnectionsPerAddress', [-1, nan, 0.5]],
    ['maxRequestsPerSocket', [-1, nan]],
    ['headersTimeoutMs', [0, -1, nan, inf, 1.5]],
    ['maxHeaderSize', [0, nan, inf]],
    ['requestTimeoutMs', [-1, nan, inf]],
    ['idleTimeoutMs', [-1, nan, inf]],
    ['keepAliveTimeoutMs', [-1, nan, inf]],
    ['retryAfterSeconds', [-1, nan, 0.5]],
  ])('httpListener refuses %s = each of %o', (name, values) => {
    for (const value of values)
      expect(() => httpListener({ [name]: value })).toThrow(
        new RangeError(`httpListener: ${name} must be a ${kindOf(name)} (got ${String(value)})`),
      );
  });

  it('createHttpHandler refuses a bad retryAfterSeconds or maxBodyBytes', () => {
    const server = createServer({ methods: {} });
    expect(() => createHttpHandler(server, { retryAfterSeconds: -1 })).toThrow(
      /^createHttpHandler: retryAfterSeconds must be a finite non-negative whole number \(got -1\)$/,
    );
    expect(() => createHttpHandler(server, { maxBodyBytes: 0 })).toThrow(
      /^createHttpHandler: maxBodyBytes must be a positive number \(got 0\)$/,
    );
  });

  it('takes 0 where the defaults give it a meaning, and Infinity for limits', () => {
    expect(() => httpTransport({ idleSocketTimeoutMs: 0, maxSockets: inf }).close?.()).not.toThrow();
    const off = { requestTimeoutMs: 0, idleTimeoutMs: 0, keepAliveTimeoutMs: 0, retryAfterSeconds: 0 };
    const unbounded = { maxConnections: inf, maxConnectionsPerAddress: 0, maxRequestsPerSocket: 0 };
    expect(() => httpListener({ ...off, ...unbounded, maxInFlightPerConnection: inf })).not.toThrow();
  });
});

function kindOf(name: string): string {
  if (['maxSockets', 'maxFreeSockets', 'maxConnections', 'maxInFlightPerConnection'].includes(name))
    return 'positive whole number';
  if (['maxConnectionsPerAddress', 'maxRequestsPerSocket'].includes(name)) return 'non-negative whole number';
  if (['headersTimeoutMs', 'maxHeaderSize'].includes(name)) return 'finite positive whole number';
  if (name === 'idleSocketTimeoutMs') return 'finite non-negative number';
  return 'finite non-negative whole number';
}
