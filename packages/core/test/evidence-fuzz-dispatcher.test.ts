/**
 * Evidence (issue 10): the core dispatcher every transport hands text to, fuzzed with hostile
 * messages. It never rejects, always answers a well-formed JSON-RPC response (or nothing, for
 * notifications), never pollutes prototypes, and the next valid call succeeds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createServer } from '../src/index.js';
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
});
