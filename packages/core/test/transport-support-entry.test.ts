import * as core from '@resilient-rpc/core';
import * as transport from '@resilient-rpc/core/transport';
import { describe, expect, expectTypeOf, it } from 'vitest';

const { boundUrl, checkPositive, flattenHeaders, positiveNumber, unserialisable, withDefaults } = transport;

describe('@resilient-rpc/core/transport', () => {
  it('holds every transport building block the root exports, as the same values', () => {
    expect([
      transport.ConnectionEvents,
      transport.ConnectionTable,
      transport.parseListenUrl,
      transport.PendingCall,
      transport.PendingCalls,
      transport.QuietWait,
      transport.requestMeta,
    ]).toEqual([
      core.ConnectionEvents,
      core.ConnectionTable,
      core.parseListenUrl,
      core.PendingCall,
      core.PendingCalls,
      core.QuietWait,
      core.requestMeta,
    ]);
  });

  it('positiveNumber passes a positive number (Infinity too) and names anything else', () => {
    expect(positiveNumber('maxFoo', 3)).toBe(3);
    expect(positiveNumber('maxFoo', Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    for (const bad of [0, -1, Number.NaN, '5', undefined, null])
      expect(() => positiveNumber('maxFoo', bad)).toThrow(
        new RangeError(`maxFoo must be a positive number (got ${String(bad)})`),
      );
    expect(() => checkPositive('wsThing', { a: 1, b: 0 }, ['a', 'b'])).toThrow(
      /^wsThing: b must be a positive number \(got 0\)$/,
    );
  });

  it.each([
    [{ zero: true }, [0, 2.5, Number.POSITIVE_INFINITY], [-1, Number.NaN], 'non-negative number'],
    [{ whole: true }, [1, Number.POSITIVE_INFINITY], [0, 2.5, Number.NaN], 'positive whole number'],
    [{ finite: true }, [0.5], [0, Number.POSITIVE_INFINITY, Number.NaN], 'finite positive number'],
    [
      { zero: true, whole: true, finite: true },
      [0, 3],
      [-1, 0.5, Number.POSITIVE_INFINITY],
      'finite non-negative whole number',
    ],
  ])('positiveNumber with rule %o passes %o, names %o as not a %s', (rule, good, bad, kind) => {
    for (const value of good) expect(positiveNumber('opt', value, rule)).toBe(value);
    for (const value of bad)
      expect(() => positiveNumber('opt', value, rule)).toThrow(
        new RangeError(`opt must be a ${kind} (got ${String(value)})`),
      );
    expect(() => checkPositive('who', { a: 1, b: -1 }, ['a', 'b'], rule)).toThrow(/^who: b must be a /);
  });

  it('withDefaults lays the options that are set over the defaults', () => {
    const settings = withDefaults(
      { host: '127.0.0.1', limit: 10, path: '/rpc' },
      { limit: 3, path: undefined, host: null as unknown as string, extra: true },
    );
    expect(settings).toEqual({ host: '127.0.0.1', limit: 3, path: '/rpc', extra: true });
  });

  it('OptionsOf makes each default an optional option as wide as its type', () => {
    const defaults = { host: '127.0.0.1', limit: 10, strict: false } as const;
    expectTypeOf<transport.OptionsOf<typeof defaults>>().toEqualTypeOf<{
      host?: string;
      limit?: number;
      strict?: boolean;
    }>();
    const options: transport.OptionsOf<typeof defaults> = { limit: 3 };
    options.limit = 4; // writable, unlike the defaults
    expect(withDefaults(defaults, options)).toEqual({ host: '127.0.0.1', limit: 4, strict: false });
  });

  it('flattenHeaders joins repeated headers and leaves out absent ones', () => {
    expect(flattenHeaders({ a: '1', 'set-cookie': ['x', 'y'], gone: undefined })).toEqual({
      a: '1',
      'set-cookie': 'x, y',
    });
  });

  it('unserialisable is a protocol error that keeps what JSON.stringify threw', () => {
    const cause = new TypeError('Do not know how to serialize a BigInt');
    const error = unserialisable('ws://h/rpc', cause);
    expect([error.kind, error.endpoint, error.cause, error.message]).toEqual([
      'protocol',
      'ws://h/rpc',
      cause,
      'the request cannot be serialised as JSON: Do not know how to serialize a BigInt',
    ]);
  });

  it('boundUrl shows a wildcard host as the loopback of its family and brackets IPv6', () => {
    expect(boundUrl('http', '0.0.0.0', 80, '/rpc')).toBe('http://127.0.0.1:80/rpc');
    expect(boundUrl('ws', '', 1, '/')).toBe('ws://127.0.0.1:1/');
    expect(boundUrl('wss', '::', 443, '/x')).toBe('wss://[::1]:443/x');
    expect(boundUrl('https', 'fe80::1', 8443, '/x')).toBe('https://[fe80::1]:8443/x');
    expect(boundUrl('http', 'example.org', 8080, '/rpc')).toBe('http://example.org:8080/rpc');
  });
});
