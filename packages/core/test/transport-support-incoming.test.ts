import { certificateUser, LazyIncoming, lazyCredentials } from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';

class TestIncoming extends LazyIncoming {
  readonly transport = 'test';
  reads = { headers: 0, user: 0, watch: 0 };
  leave: (() => void) | undefined;

  protected headers() {
    this.reads.headers++;
    return { authorization: 'Bearer t' };
  }

  protected user() {
    this.reads.user++;
    return 'alice';
  }

  protected watch(gone: () => void) {
    this.reads.watch++;
    this.leave = gone;
  }
}

describe('incoming-context building blocks', () => {
  it('lazyCredentials reads the headers once, on first use, and has a user only if given', () => {
    let reads = 0;
    const credentials = lazyCredentials(() => {
      reads++;
      return { a: '1' };
    }, undefined);
    expect('user' in credentials).toBe(false);
    expect(reads).toBe(0);
    expect([credentials.headers, credentials.headers, reads]).toEqual([{ a: '1' }, { a: '1' }, 1]);
    expect(lazyCredentials(() => ({}), 'bob').user).toBe('bob');
  });

  it('certificateUser takes the CN, else the whole subject, else nothing', () => {
    expect(certificateUser({ CN: 'svc', O: 'acme' })).toBe('svc');
    expect(certificateUser({ O: 'acme', OU: ['a', 'b'] })).toBe('O=acme,OU=a+b');
    expect(certificateUser({})).toBeUndefined();
    expect(certificateUser(undefined)).toBeUndefined();
  });

  it('LazyIncoming builds credentials and the signal only when read, once, and aborts when the caller leaves', () => {
    const incoming = new TestIncoming({}, '10.0.0.1');
    expect([incoming.transport, incoming.remoteAddress]).toEqual(['test', '10.0.0.1']);
    expect(incoming.reads).toEqual({ headers: 0, user: 0, watch: 0 });
    const credentials = incoming.credentials;
    expect(incoming.credentials).toBe(credentials);
    expect(incoming.reads).toEqual({ headers: 0, user: 1, watch: 0 });
    expect(credentials).toEqual({ headers: { authorization: 'Bearer t' }, user: 'alice' });
    const signal = incoming.signal;
    expect(incoming.signal).toBe(signal);
    expect([incoming.reads.watch, signal.aborted]).toEqual([1, false]);
    incoming.leave!();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('the client closed the connection');
  });
});
