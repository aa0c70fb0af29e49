import { certificateUser, LazyIncoming } from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';

class TestIncoming extends LazyIncoming {
  readonly transport = 'test';
  readonly credentials = { headers: {} };
  watched = 0;
  leave: (() => void) | undefined;

  protected watch(gone: () => void) {
    this.watched++;
    this.leave = gone;
  }
}

describe('incoming-context building blocks', () => {
  it('certificateUser takes the CN, else the whole subject, else nothing', () => {
    expect(certificateUser({ CN: 'svc', O: 'acme' })).toBe('svc');
    expect(certificateUser({ O: 'acme', OU: ['a', 'b'] })).toBe('O=acme,OU=a+b');
    expect(certificateUser({})).toBeUndefined();
    expect(certificateUser(undefined)).toBeUndefined();
  });

  it('LazyIncoming builds its signal only when read, once, and aborts it when the caller leaves', () => {
    const incoming = new TestIncoming({}, '10.0.0.1');
    expect([incoming.transport, incoming.remoteAddress, incoming.watched]).toEqual(['test', '10.0.0.1', 0]);
    const signal = incoming.signal;
    expect(incoming.signal).toBe(signal);
    expect([incoming.watched, signal.aborted]).toEqual([1, false]);
    incoming.leave!();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('the client closed the connection');
  });
});
