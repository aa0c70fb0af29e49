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

  it('withDefaults lays the options that are set over the defaults', () => {
    const settings = withDefaults(
      { host: '127.0.0.1', limit: 10, path: '/rpc' },
      { limit: 3, path: undefined, host: null as unknown as string, extra: true },
    );
    expect(settings).toEqual({ host: '127.0.0.1', limit: 3, path: '/rpc', extra: true });
  });

  it('OptionsOf makes each default an optional option as wide as its type', () => {
    const Defaults = { limit: 10, path: '/rpc', strict: true } as const;
    expectTypeOf<transport.OptionsOf<typeof Defaults>>().toEqualTypeOf<{
      limit?: number;
      path?: string;
      strict?: boolean;
    }>();
    const options: transport.OptionsOf<typeof Defaults> = { limit: 3 };
    expect(withDefaults(Defaults, options)).toEqual({ limit: 3, path: '/rpc', strict: true });
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
