import { describe, expect, it, vi } from 'vitest';
import type { JsonRpcRequest, WireMetadata } from '../src/index.js';
import { requestText } from '../src/transport/index.js';
import { requestMeta } from '../src/transport-support/request-meta.js';

/** What requestText is defined as: JSON.stringify of the request, renumbered and with meta merged. */
function reference(
  request: JsonRpcRequest,
  metadata: WireMetadata | null | undefined,
  wireId?: number,
): string {
  const meta = request.meta;
  const merged = metadata == null ? undefined : requestMeta(undefined, metadata);
  if (wireId === undefined && merged === undefined && !(metadata === null && meta !== undefined))
    return JSON.stringify(request);
  const copy: Record<string, unknown> = wireId === undefined ? {} : { id: wireId };
  for (const key of Object.keys(request)) {
    if (key === 'id' && wireId !== undefined) continue;
    if (key === 'meta' && (metadata === null || (merged !== undefined && meta === undefined))) continue;
    copy[key] = (request as unknown as Record<string, unknown>)[key];
  }
  if (merged !== undefined) copy.meta = requestMeta(meta, metadata!);
  return JSON.stringify(copy);
}

const requests: JsonRpcRequest[] = [
  // The core's shapes.
  { jsonrpc: '2.0', method: 'echo', params: { a: 1 }, id: 1 },
  { jsonrpc: '2.0', method: 'echo', id: 'caller' },
  { jsonrpc: '2.0', method: 'say "hi"\n', params: [1, 'x'], id: 2 },
  { jsonrpc: '2.0', method: 'échø', params: [], id: null as never },
  { jsonrpc: '2.0', method: 'note', params: { k: [true, null] } },
  { jsonrpc: '2.0', method: 'note' },
  { jsonrpc: '2.0', method: 'echo', params: undefined, id: 3 },
  { jsonrpc: '2.0', method: 'echo', params: [1], id: undefined },
  { jsonrpc: '2.0', method: 'echo', params: [1], id: Number.NaN },
  // Any other shape: written as given.
  { jsonrpc: '2.0', method: 'echo', params: [1], id: 4, meta: { traceId: 't' } },
  { jsonrpc: '2.0', method: 'echo', meta: undefined, params: [1], id: 5 },
  { id: 6, jsonrpc: '2.0', method: 'echo' },
  { jsonrpc: '2.0', id: 7, method: 'echo', params: [2] },
  { jsonrpc: '2.0', method: 'echo', id: 8, params: [2] },
  { jsonrpc: '1.0' as '2.0', method: 'old', id: 9 },
  { jsonrpc: '2.0', method: 42 as unknown as string, id: 10 },
  { jsonrpc: '2.0', method: 'echo', params: [1], id: 11, extra: true } as JsonRpcRequest,
];

const metadatas: Array<WireMetadata | null | undefined> = [
  undefined,
  null,
  {},
  // The core's metadata: every member present, some undefined.
  {
    deadlineMs: 4000,
    attempt: 1,
    idempotent: true,
    traceId: undefined,
    traceparent: undefined,
    tracestate: undefined,
  },
  { deadlineMs: undefined, attempt: 2, idempotent: undefined, traceId: undefined },
  { idempotent: false },
  { deadlineMs: 0.5 },
  { deadlineMs: Number.POSITIVE_INFINITY, attempt: 1 },
  { attempt: 3, deadlineMs: 10 },
  { attempt: 3, traceId: 'trace' },
  { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
  { deadlineMs: 10, extra: 'x' } as WireMetadata,
];

describe('requestText', () => {
  it('is the JSON of the request renumbered and with the metadata merged into meta, whatever the shapes', () => {
    for (const request of requests)
      for (const metadata of metadatas)
        for (const wireId of [undefined, 17]) {
          const label = JSON.stringify({ request, metadata, wireId });
          expect(requestText(request, metadata, wireId), label).toBe(reference(request, metadata, wireId));
          expect(JSON.parse(requestText(request, metadata, wireId)), label).toBeTypeOf('object');
        }
  });

  it('is the text a request had before, for a request without wire id (the NATS client)', () => {
    // The NATS client's encoder before requestText: the request as is, or its text with the
    // metadata appended, or a copy with its meta merged.
    const before = (request: JsonRpcRequest, metadata: WireMetadata | undefined) => {
      if (metadata === undefined || requestMeta(undefined, metadata) === undefined)
        return JSON.stringify(request);
      if (request.meta !== undefined)
        return JSON.stringify({ ...request, meta: requestMeta(request.meta, metadata) });
      return `${JSON.stringify(request).slice(0, -1)},"meta":${JSON.stringify(metadata)}}`;
    };
    for (const request of requests)
      for (const metadata of metadatas)
        if (metadata !== null) expect(requestText(request, metadata)).toBe(before(request, metadata));
  });

  it('writes the wire id first and the metadata last', () => {
    const request: JsonRpcRequest = { jsonrpc: '2.0', method: 'echo', params: [1], id: 'caller' };
    expect(requestText(request, { deadlineMs: 4000, attempt: 2, idempotent: undefined }, 1)).toBe(
      '{"id":1,"jsonrpc":"2.0","method":"echo","params":[1],"meta":{"deadlineMs":4000,"attempt":2}}',
    );
    expect(requestText(request, { attempt: 1 })).toBe(
      '{"jsonrpc":"2.0","method":"echo","params":[1],"id":"caller","meta":{"attempt":1}}',
    );
  });

  it('writes each metadata in its own order and values when it repeats the one before or not', () => {
    const request: JsonRpcRequest = { jsonrpc: '2.0', method: 'echo', params: [1], id: 1 };
    const sequence: WireMetadata[] = [
      { deadlineMs: 10, attempt: 3 },
      { deadlineMs: 10, attempt: 3 },
      { attempt: 3, deadlineMs: 10 },
      { attempt: 3, deadlineMs: 10, idempotent: true },
      { attempt: 3, deadlineMs: 10, idempotent: false },
      { attempt: 3, deadlineMs: 9, idempotent: false },
      { attempt: 4, deadlineMs: 9, idempotent: false },
      { idempotent: false, attempt: 4, deadlineMs: 9 },
      {},
      { deadlineMs: 9 },
      { attempt: 9 },
      { attempt: 9, traceId: 'now traced' },
      { attempt: 9 },
    ];
    for (const metadata of sequence)
      expect(requestText(request, metadata), JSON.stringify(metadata)).toBe(reference(request, metadata));
  });

  it("writes the core's shape with plain metadata by hand: only the params are serialised", () => {
    const metadata = { deadlineMs: 4000, attempt: 1, idempotent: true, traceId: undefined };
    requestText({ jsonrpc: '2.0', method: 'hand', id: 1 }, metadata); // the method's JSON is kept
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      for (const wireId of [undefined, 5]) {
        requestText({ jsonrpc: '2.0', method: 'hand', params: [1], id: 1 }, metadata, wireId);
        requestText({ jsonrpc: '2.0', method: 'hand', params: [1] }, metadata, wireId);
      }
      expect(stringify.mock.calls).toEqual([[[1]], [[1]], [[1]], [[1]]]);
    } finally {
      stringify.mockRestore();
    }
  });

  it('leaves the meta member out with null metadata, and writes the own one as is with none', () => {
    const request: JsonRpcRequest = { jsonrpc: '2.0', method: 'echo', id: 1, meta: { traceId: 't' } };
    expect(requestText(request, null)).toBe('{"jsonrpc":"2.0","method":"echo","id":1}');
    expect(requestText(request, undefined)).toBe(
      '{"jsonrpc":"2.0","method":"echo","id":1,"meta":{"traceId":"t"}}',
    );
  });

  it('throws for params JSON cannot express, on either path', () => {
    expect(() => requestText({ jsonrpc: '2.0', method: 'echo', params: [1n] as never, id: 1 }, {})).toThrow(
      TypeError,
    );
    expect(() =>
      requestText({ jsonrpc: '2.0', method: 'echo', params: [1n] as never, id: 1 }, { traceId: 't' }),
    ).toThrow(TypeError);
  });
});
