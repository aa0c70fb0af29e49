/**
 * Evidence (issue 10): the NATS server fuzzed with hostile payloads and headers published to its
 * subject (fast-check). It never crashes, every reply is a well-formed JSON-RPC response, and the
 * next valid request succeeds. FUZZ_RUNS raises the case count.
 */
import { connect, createInbox, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { createServer, type RpcServer } from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fuzzParameters,
  fuzzRuns,
  hostileHeaderValue,
  hostileMessage,
  isWellFormedResponse,
  prototypePolluted,
} from '../../core/test/fixtures/evidence-hostile.js';
import { natsListener } from '../src/index.js';

const LIMIT = 64 * 1024;
const SUBJECT = 'evidence.fuzz';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const headerSet = fc.record(
  {
    'rpc-deadline-ms': hostileHeaderValue,
    'rpc-idempotent': hostileHeaderValue,
    'rpc-attempt': hostileHeaderValue,
    'rpc-trace-id': hostileHeaderValue,
  },
  { requiredKeys: [] },
);

describe('evidence: fuzzing the NATS server', () => {
  let broker: NatsServerHandle;
  let server: RpcServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    broker = await startNatsServer();
    server = createServer({ maxMessageBytes: LIMIT, methods: { echo: (params: unknown) => params } });
    await server.listen(natsListener({ servers: broker.url, subject: SUBJECT, service: false }));
    nc = await connect({ servers: broker.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.close();
    await broker?.kill();
  });

  it('replies to hostile payloads with JSON-RPC errors and keeps serving', async () => {
    const replies: string[] = [];
    const inbox = createInbox();
    const subscription = nc.subscribe(inbox, {
      callback: (_error, msg) => {
        replies.push(decoder.decode(msg.data));
      },
    });
    let checked = 0;
    let sentinel = 0;
    await fc.assert(
      fc.asyncProperty(
        hostileMessage(LIMIT),
        headerSet,
        fc.boolean(),
        async (hostile, extra, withHeaders) => {
          const payload =
            typeof hostile.payload === 'string' ? encoder.encode(hostile.payload) : hostile.payload;
          const hdrs = natsHeaders();
          for (const [name, value] of Object.entries(extra)) if (value !== '') hdrs.set(name, value);
          nc.publish(SUBJECT, payload, { reply: inbox, ...(withHeaders && { headers: hdrs }) });
          const id = `sentinel-${++sentinel}`;
          const answer = await nc.request(
            SUBJECT,
            encoder.encode(JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: [id], id })),
            { timeout: 10_000 },
          );
          expect(JSON.parse(decoder.decode(answer.data))).toEqual({ jsonrpc: '2.0', id, result: [id] });
          await nc.flush();
          for (; checked < replies.length; checked++) {
            const text = replies[checked]!;
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            expect(isWellFormedResponse(parsed), `${hostile.label}: ${text.slice(0, 200)}`).toBe(true);
          }
          expect(prototypePolluted()).toBe(false);
        },
      ),
      fuzzParameters(fuzzRuns(3_000)),
    );
    subscription.unsubscribe();
    expect(replies.length).toBeGreaterThan(0);
    expect(server.inFlight).toBe(0);
  });
});
