/**
 * Evidence (issue 10): the HTTP server fuzzed with hostile bodies and headers (fast-check). It never
 * crashes, always answers a well-formed JSON-RPC response or a 4xx rejection, never pollutes
 * prototypes, and the next valid call succeeds. FUZZ_RUNS raises the case count.
 */
import { Agent, request as httpRequest } from 'node:http';
import { createServer, type RpcServer } from '@resilient-rpc/core';
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
import { type HttpListener, httpListener } from '../src/index.js';

const LIMIT = 64 * 1024;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function post(
  url: URL,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'APPLICATION/JSON',
      '',
    ),
  },
);
const headers = fc.record(
  {
    'rpc-deadline-ms': hostileHeaderValue,
    'rpc-idempotent': hostileHeaderValue,
    'rpc-attempt': hostileHeaderValue,
    'rpc-trace-id': hostileHeaderValue,
  },
  { requiredKeys: [] },
);

describe('evidence: fuzzing the HTTP server', () => {
  let server: RpcServer;
  let listener: HttpListener;
  let url: URL;

  beforeAll(async () => {
    server = createServer({ maxMessageBytes: LIMIT, methods: { echo: (params: unknown) => params } });
    listener = await server.listen(httpListener({ port: 0 }));
    url = new URL(listener.urls[0]!);
  });
  afterAll(async () => {
    agent.destroy();
    await server.close();
  });

  it('answers hostile bodies with JSON-RPC errors or 4xx, and keeps serving', async () => {
    const statuses = new Map<number, number>();
    let sentinel = 0;
    await fc.assert(
      fc.asyncProperty(hostileMessage(LIMIT), contentType, headers, async (hostile, type, extra) => {
        const { status, text } = await post(url, hostile.payload, { 'content-type': type, ...extra });
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const what = `${hostile.label} → ${status} ${text.slice(0, 200)}`;
        expect([200, 204, 400, 413, 415], what).toContain(status);
        if (status === 204) expect(text, what).toBe('');
        else expect(isWellFormedResponse(JSON.parse(text)), what).toBe(true);
        const id = `sentinel-${++sentinel}`;
        const next = await post(url, JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: [id], id }), {
          'content-type': 'application/json',
        });
        expect(next.status).toBe(200);
        expect(JSON.parse(next.text)).toEqual({ jsonrpc: '2.0', id, result: [id] });
        expect(prototypePolluted()).toBe(false);
      }),
      fuzzParameters(fuzzRuns(2_000)),
    );
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect(server.inFlight).toBe(0);
  });
});
