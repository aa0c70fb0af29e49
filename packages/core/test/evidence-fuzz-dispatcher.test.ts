/**
 * Evidence (issue 10): the core dispatcher every transport hands text to, fuzzed with hostile
 * messages. It never rejects, always answers a well-formed JSON-RPC response (or nothing, for
 * notifications), never pollutes prototypes, and the next valid call succeeds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createServer, type DispatchStatus, ErrorCodes, InFlightLimit } from '../src/index.js';
import {
  fuzzParameters,
  fuzzRuns,
  hostileMessage,
  isWellFormedResponse,
  prototypePolluted,
} from './fixtures/evidence-hostile.js';

const LIMIT = 64 * 1024;
const decoder = new TextDecoder();
const context = { transport: 'fuzz', metadata: {} };

describe('evidence: fuzzing the dispatcher', () => {
  const server = createServer({
    maxMessageBytes: LIMIT,
    methods: {
      echo: (params: unknown) => params,
      add: { handler: ([a, b]: [number, number]) => a + b, paramNames: ['a', 'b'] },
    },
  });

  it('answers every hostile message with a well-formed response, then serves a valid call', async () => {
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(hostileMessage(LIMIT), async (hostile) => {
        const text = typeof hostile.payload === 'string' ? hostile.payload : decoder.decode(hostile.payload);
        const out = await server.dispatcher.handleText(text, context);
        if (out !== undefined) {
          expect(isWellFormedResponse(JSON.parse(out)), `${hostile.label}: ${out.slice(0, 200)}`).toBe(true);
          answered++;
        }
        // Parsed messages take the same path through handleMessage.
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (parsed !== undefined) {
          const response = await server.dispatcher.handleMessage(parsed, context);
          if (response !== undefined) expect(isWellFormedResponse(response)).toBe(true);
        }
        const next = await server.dispatcher.handleText(
          '{"jsonrpc":"2.0","method":"echo","params":["ok"],"id":"n"}',
          context,
        );
        expect(JSON.parse(next!)).toEqual({ jsonrpc: '2.0', id: 'n', result: ['ok'] });
        expect(prototypePolluted()).toBe(false);
      }),
      fuzzParameters(fuzzRuns(3_000)),
    );
    expect(answered).toBeGreaterThan(0);
    expect(server.inFlight).toBe(0);
  });

  it('dispatch(): hostile text or bytes get a well-formed body whose status matches it, never a rejection', async () => {
    const limit = new InFlightLimit(8);
    await fc.assert(
      fc.asyncProperty(hostileMessage(LIMIT), fc.boolean(), async (hostile, answerEachEntry) => {
        const result = await server.dispatcher.dispatch(hostile.payload, context, { limit, answerEachEntry });
        if (result.body === undefined) {
          expect(result.status, hostile.label).toBe('no-content');
        } else {
          const body = JSON.parse(result.body);
          expect(isWellFormedResponse(body), `${hostile.label}: ${result.body.slice(0, 200)}`).toBe(true);
          if (Array.isArray(body) || !('error' in body)) expect(result.status, hostile.label).toBe('ok');
          else
            expect(result.status, `${hostile.label}: ${body.error.code}`).toBe(
              STATUS_OF[body.error.code] ?? 'ok',
            );
        }
        expect(limit.inFlight).toBe(0);
        expect(prototypePolluted()).toBe(false);
      }),
      fuzzParameters(fuzzRuns(2_000)),
    );
    expect(server.inFlight).toBe(0);
  });
});

const STATUS_OF: Record<number, DispatchStatus> = {
  [ErrorCodes.ParseError]: 'bad-request',
  [ErrorCodes.InvalidRequest]: 'bad-request',
  [ErrorCodes.Unauthenticated]: 'unauthenticated',
  [ErrorCodes.Forbidden]: 'forbidden',
  [ErrorCodes.MessageTooLarge]: 'too-large',
  [ErrorCodes.BatchTooLarge]: 'too-large',
  [ErrorCodes.Overloaded]: 'overloaded',
  [ErrorCodes.Draining]: 'draining',
};
