import { describe, expect, it } from 'vitest';
import { wsListener, wsTransport } from '../src/index.js';

const inf = Number.POSITIVE_INFINITY;
const nan = Number.NaN;

/**
 * Timers the clock would fire at once (`Infinity`, which node:http refuses for the handshake) and
 * limits that a NaN or a fraction would bend are refused when the transport or listener is made,
 * naming the option and the value. (The other limits: hostile-idle.test.ts.)
 */
describe('WebSocket option checks', () => {
  it.each([
    ['heartbeatIntervalMs', [inf, 0, nan]],
    ['handshakeTimeoutMs', [inf, -1]],
    ['reconnectBaseMs', [inf]],
    ['reconnectCapMs', [inf]],
    ['stableAfterMs', [inf]],
  ])('wsTransport refuses %s = each of %o', (name, values) => {
    for (const value of values)
      expect(() => wsTransport({ [name]: value })).toThrow(
        new RangeError(
          `wsTransport: ${name} must be a ${value === inf ? 'finite ' : ''}positive number (got ${String(value)})`,
        ),
      );
  });

  it.each([
    ['maxInFlightPerConnection', [0, nan, 1.5], 'positive whole number'],
    ['maxConnections', [0, -1, nan, 2.5], 'positive whole number'],
    ['heartbeatIntervalMs', [0, nan, inf], 'finite positive number'],
    ['headersTimeoutMs', [0, nan, inf, 1.5], 'finite positive whole number'],
    ['closeTimeoutMs', [-1, nan, inf], 'finite non-negative number'],
  ])('wsListener refuses %s = each of %o', (name, values, kind) => {
    for (const value of values)
      expect(() => wsListener({ [name]: value })).toThrow(
        new RangeError(`wsListener: ${name} must be a ${kind} (got ${String(value)})`),
      );
  });

  it('takes Infinity for the bounds that are not timers, and 0 to close at once', () => {
    const bounds = { heartbeatTimeoutMs: inf, maxQueued: inf, reconnectMaxAttempts: inf };
    expect(() => wsTransport(bounds)).not.toThrow();
    expect(() =>
      wsListener({ maxConnections: inf, maxInFlightPerConnection: inf, closeTimeoutMs: 0 }),
    ).not.toThrow();
  });
});
