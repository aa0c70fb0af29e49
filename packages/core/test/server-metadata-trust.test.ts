import {
  createServer,
  type IncomingContext,
  metadataFromHeaders,
  parseTraceparent,
  parseTracestate,
  sanitizeMetadata,
  type WireMetadata,
} from '@resilient-rpc/core';
import { metadataFromRecord } from '@resilient-rpc/core/transport';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const MAX_DEADLINE_MS = 60_000;
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** A server whose `seen` method answers with the metadata its handler was given. */
function server() {
  const seen: WireMetadata[] = [];
  const rpc = createServer({
    maxDeadlineMs: MAX_DEADLINE_MS,
    methods: {
      seen: (_params, handler) => {
        seen.push(handler.metadata);
        return true;
      },
    },
  });
  /** The metadata a handler sees for a request whose listener passed `metadata` (undefined: no handler ran). */
  const handlerSees = async (metadata: WireMetadata): Promise<WireMetadata | undefined> => {
    const context: IncomingContext = { transport: 'test', metadata };
    await rpc.dispatcher.handleText('{"jsonrpc":"2.0","method":"seen","id":1}', context);
    return seen.pop();
  };
  return { handlerSees };
}

/** The header values a listener reads, by wire name. */
type HeaderValues = Partial<Record<(typeof NAMES)[number], string>>;
const NAMES = [
  'rpc-deadline-ms',
  'rpc-idempotent',
  'rpc-attempt',
  'rpc-trace-id',
  'traceparent',
  'tracestate',
] as const;

/** The raw metadata of those values (what a listener that does not sanitise passes on). */
function raw(headers: HeaderValues): WireMetadata {
  return {
    deadlineMs: headers['rpc-deadline-ms'],
    idempotent: headers['rpc-idempotent'],
    attempt: headers['rpc-attempt'],
    traceId: headers['rpc-trace-id'],
    traceparent: headers.traceparent,
    tracestate: headers.tracestate,
  } as unknown as WireMetadata;
}

/**
 * The reference: `sanitizeMetadata` as it was before the header path got its own parsing (any
 * string through `Number`), so that a fast path that reads a value differently fails here.
 */
function reference(source: Record<string, unknown>): WireMetadata {
  const toNumber = (value: unknown) => {
    if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
    if (typeof value === 'string' && value.length > 0 && value.length <= 20) {
      const parsed = Number(value);
      return Number.isFinite(parsed) ? parsed : undefined;
    }
    return undefined;
  };
  const result: WireMetadata = {};
  const deadline = toNumber(source.deadlineMs);
  if (deadline !== undefined && deadline >= 0) result.deadlineMs = deadline;
  const idempotent = source.idempotent;
  if (idempotent === true || idempotent === '1' || idempotent === 'true') result.idempotent = true;
  const attempt = toNumber(source.attempt);
  if (attempt !== undefined && Number.isInteger(attempt) && attempt >= 1) result.attempt = attempt;
  const traceId = source.traceId;
  if (typeof traceId === 'string' && traceId.length > 0 && traceId.length <= 128) result.traceId = traceId;
  const traceparent = parseTraceparent(source.traceparent);
  if (traceparent !== undefined) {
    result.traceparent = traceparent;
    const tracestate = parseTracestate(source.tracestate);
    if (tracestate !== undefined) result.tracestate = tracestate;
  }
  return result;
}

/** Header values as they come: numbers in every notation, digits of every length, junk. */
const numberText = fc.oneof(
  fc.stringMatching(/^[0-9]{1,22}$/),
  fc.integer({ min: -5, max: 10 ** 9 }).map(String),
  fc.double().map(String),
  fc.constantFrom(
    '',
    ' 7',
    '7 ',
    '+3',
    '-0',
    '0x1f',
    '1e3',
    '.5',
    '5.',
    'Infinity',
    'NaN',
    '١٢',
    '00012',
    '1_000',
  ),
  fc.string({ maxLength: 24 }),
);
const headerValues: fc.Arbitrary<HeaderValues> = fc.record(
  {
    'rpc-deadline-ms': numberText,
    'rpc-idempotent': fc.constantFrom('1', 'true', '0', 'yes', '', 'TRUE'),
    'rpc-attempt': numberText,
    'rpc-trace-id': fc.oneof(fc.string({ maxLength: 130 }), fc.constant('x'.repeat(129))),
    traceparent: fc.oneof(fc.constant(TRACEPARENT), fc.string({ maxLength: 60 })),
    tracestate: fc.constantFrom('a=1', 'a=1,b=2', ' a=1 , ', 'bad', ''),
  },
  { requiredKeys: [] },
);

describe('metadata read from headers', () => {
  it('is what sanitising the raw header values gave, through a lookup or from a record', () => {
    fc.assert(
      fc.property(headerValues, (headers) => {
        const expected = reference(raw(headers) as Record<string, unknown>);
        const fromLookup = metadataFromHeaders((name) => headers[name as keyof HeaderValues]);
        expect(fromLookup).toStrictEqual(expected);
        expect(Object.keys(fromLookup)).toEqual(Object.keys(expected));
        expect(metadataFromRecord(headers)).toStrictEqual(expected);
        expect(sanitizeMetadata(raw(headers))).toStrictEqual(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads digit strings exactly, leading zeros and 15 to 20 digits included', () => {
    for (const text of [
      '0',
      '007',
      '10000',
      '999999999999999',
      '9007199254740993',
      '44696743494046276',
      '92362954232309456255',
    ]) {
      expect(metadataFromRecord({ 'rpc-deadline-ms': text }).deadlineMs).toBe(Number(text));
    }
    expect(metadataFromRecord({ 'rpc-deadline-ms': '123456789012345678901' })).toEqual({});
    expect(metadataFromRecord({ 'rpc-attempt': '1', 'set-cookie': ['a=1'] })).toEqual({ attempt: 1 });
    expect(metadataFromRecord({ 'rpc-deadline-ms': ['5'], 'rpc-attempt': ['2'] })).toEqual({});
  });
});

describe('metadata a listener passes to the dispatcher', () => {
  it('gives handlers the same metadata whether the core read it from headers or the listener passed it raw', async () => {
    const { handlerSees } = server();
    await fc.assert(
      fc.asyncProperty(headerValues, async (headers) => {
        const fromCore = metadataFromHeaders((name) => headers[name as keyof HeaderValues]);
        const before = { ...fromCore };
        const expected = reference(raw(headers) as Record<string, unknown>);
        if (expected.deadlineMs !== undefined && expected.deadlineMs > MAX_DEADLINE_MS)
          expected.deadlineMs = MAX_DEADLINE_MS;
        const viaCore = await handlerSees(fromCore);
        const viaRaw = await handlerSees(raw(headers));
        expect(fromCore).toStrictEqual(before); // the listener's object keeps what the caller sent
        if (expected.deadlineMs === 0) {
          // A spent deadline: the request is refused before any handler runs, either way.
          expect([viaCore, viaRaw]).toEqual([undefined, undefined]);
          return;
        }
        expect(viaCore).toStrictEqual(expected);
        expect(Object.keys(viaCore!)).toEqual(Object.keys(expected));
        expect(viaRaw).toStrictEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('clamps the deadline of metadata the core read from headers', async () => {
    const { handlerSees } = server();
    const fromCore = metadataFromRecord({ 'rpc-deadline-ms': '86400000', 'rpc-attempt': '2' });
    expect(await handlerSees(fromCore)).toStrictEqual({ deadlineMs: MAX_DEADLINE_MS, attempt: 2 });
    expect(fromCore.deadlineMs).toBe(86_400_000);
    const short = metadataFromRecord({ 'rpc-deadline-ms': '500' });
    expect(await handlerSees(short)).toStrictEqual({ deadlineMs: 500 });
  });

  it('sanitises raw metadata, and copies or changed views of core-made metadata, as untrusted', async () => {
    const { handlerSees } = server();
    const fromCore = metadataFromRecord({
      'rpc-deadline-ms': '500',
      'rpc-idempotent': '1',
      'rpc-attempt': '1',
      traceparent: TRACEPARENT,
    });
    const bad = { deadlineMs: 'soon', attempt: -3, traceId: 'x'.repeat(500), tracestate: 'not valid' };
    const sanitised = { idempotent: true, traceparent: TRACEPARENT };
    // A listener that passes header values as they came.
    expect(await handlerSees({ ...bad, idempotent: 'yes' } as unknown as WireMetadata)).toStrictEqual({});
    // A copy of core-made metadata, changed: the copy carries no mark.
    expect(await handlerSees({ ...fromCore, ...bad } as unknown as WireMetadata)).toStrictEqual(sanitised);
    const clone = structuredClone(fromCore) as Record<string, unknown>;
    Object.assign(clone, bad);
    expect(await handlerSees(clone as WireMetadata)).toStrictEqual(sanitised);
    // A proxy in front of core-made metadata is another object: not marked either.
    const proxy = new Proxy(fromCore, {
      get: (target, key) => (key in bad ? bad[key as keyof typeof bad] : Reflect.get(target, key)),
    });
    expect(await handlerSees(proxy)).toStrictEqual(sanitised);
    // An object inheriting from core-made metadata.
    const child = Object.assign(Object.create(fromCore) as WireMetadata, { attempt: 0 });
    expect(await handlerSees(child)).toStrictEqual({
      deadlineMs: 500,
      idempotent: true,
      traceparent: TRACEPARENT,
    });
  });

  it('leaves no trace of the mark on the metadata handlers see', async () => {
    const { handlerSees } = server();
    const seen = await handlerSees(metadataFromRecord({ 'rpc-deadline-ms': '500', 'rpc-attempt': '1' }));
    expect(Reflect.ownKeys(seen!)).toEqual(['deadlineMs', 'attempt']);
    expect(Object.getPrototypeOf(seen)).toBe(Object.prototype);
    expect(JSON.stringify(seen)).toBe('{"deadlineMs":500,"attempt":1}');
  });
});
