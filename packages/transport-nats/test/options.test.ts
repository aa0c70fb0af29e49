import { describe, expect, it } from 'vitest';
import { natsListener, natsTransport } from '../src/index.js';

const inf = Number.POSITIVE_INFINITY;

/**
 * Numeric options that would make the transport misbehave quietly (a round timer that fires at
 * once, a bound that rounds up, a NaN that turns a limit off) are refused when the transport or
 * listener is made, naming the option and the value. No broker needed: nothing connects.
 */
describe('NATS option checks', () => {
  it.each([
    ['discovery.intervalMs', { discovery: { intervalMs: 0 } }, 0],
    ['discovery.intervalMs', { discovery: { intervalMs: -5 } }, -5],
    ['discovery.intervalMs', { discovery: { intervalMs: Number.NaN } }, Number.NaN],
    ['discovery.intervalMs', { discovery: { intervalMs: inf } }, inf],
    ['discovery.forgetAfterMs', { discovery: { forgetAfterMs: 0 } }, 0],
    ['discovery.forgetAfterMs', { discovery: { forgetAfterMs: -1 } }, -1],
    ['discovery.forgetAfterMs', { discovery: { forgetAfterMs: Number.NaN } }, Number.NaN],
    ['discovery.maxInstances', { discovery: { maxInstances: 0 } }, 0],
    ['discovery.maxInstances', { discovery: { maxInstances: -2 } }, -2],
    ['discovery.maxInstances', { discovery: { maxInstances: Number.NaN } }, Number.NaN],
    ['discovery.maxInstances', { discovery: { maxInstances: 2.5 } }, 2.5],
    ['connectWaitMs', { connectWaitMs: 0 }, 0],
    ['connectWaitMs', { connectWaitMs: Number.NaN }, Number.NaN],
  ])('natsTransport refuses %s = %o', (name, options, value) => {
    expect(() => natsTransport(options)).toThrow(RangeError);
    expect(() => natsTransport(options)).toThrow(`natsTransport: ${name} must be a `);
    expect(() => natsTransport(options)).toThrow(`(got ${String(value)})`);
  });

  it('takes the limits it can honour: Infinity where it means "never" or "no bound"', () => {
    for (const discovery of [
      { forgetAfterMs: inf, maxInstances: inf },
      { intervalMs: 5_000, forgetAfterMs: 1_000, maxInstances: 1 }, // kept two rounds anyway
      false as const,
    ])
      expect(() => natsTransport({ discovery, connectWaitMs: inf })).not.toThrow();
  });

  it.each([
    ['closeTimeoutMs', { closeTimeoutMs: -1 }],
    ['closeTimeoutMs', { closeTimeoutMs: Number.NaN }],
    ['closeTimeoutMs', { closeTimeoutMs: inf }],
    ['maxInFlight', { maxInFlight: 0 }],
    ['maxInFlight', { maxInFlight: Number.NaN }],
  ])('natsListener refuses %s = %o', (name, options) => {
    const make = () => natsListener({ subject: 'svc', ...options });
    expect(make).toThrow(RangeError);
    expect(make).toThrow(`natsListener: ${name} must be a `);
  });

  it('listener: 0 closes without waiting, Infinity in flight is no bound', () => {
    expect(() => natsListener({ subject: 'svc', closeTimeoutMs: 0, maxInFlight: inf })).not.toThrow();
  });
});
