import { describe, expect, it } from 'vitest';
import { requestMeta } from '../src/index.js';

describe('requestMeta', () => {
  it("merges the call's metadata over the request's own meta", () => {
    expect(requestMeta({ traceId: 'own', attempt: 1 }, { attempt: 2, deadlineMs: 100 })).toEqual({
      traceId: 'own',
      attempt: 2,
      deadlineMs: 100,
    });
  });

  it('returns the metadata itself (no copy) when the request has no meta', () => {
    const metadata = { idempotent: true };
    expect(requestMeta(undefined, metadata)).toBe(metadata);
  });

  it('is undefined when nothing a server reads from meta is left (the member is left out)', () => {
    expect(requestMeta(undefined, {})).toBeUndefined();
    expect(
      requestMeta({}, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
    ).toBeUndefined();
    expect(requestMeta({ deadlineMs: 5 }, {})).toEqual({ deadlineMs: 5 });
  });
});
