/**
 * Hostile clients (issue 14): `maxInFlight` holds over HTTP when an async `authenticate` hook runs
 * first (the documented setup): the slot is taken before the hook is awaited, so a burst of slow
 * calls cannot all pass the check while their hooks are pending.
 */
import { Agent, request as httpRequest } from 'node:http';
import { createServer } from '@resilient-rpc/core';
import { bearerAuthenticate } from '@resilient-rpc/testkit';
import { expect, it } from 'vitest';
import { httpListener } from '../src/index.js';

const LIMIT = 100;
const CALLS = 900;

it('900 slow concurrent calls with an async authenticate hook: at most 100 run at once, the rest get 503 -32002', async () => {
  let running = 0;
  let peak = 0;
  let ran = 0;
  const server = createServer({
    maxInFlight: LIMIT,
    authenticate: async (credentials, request) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return bearerAuthenticate(credentials, request);
    },
    methods: {
      slow: async () => {
        running++;
        ran++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 300));
        running--;
        return 'done';
      },
    },
  });
  const listener = await server.listen(httpListener({ port: 0 }));
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'slow', params: [] });
  const call = () =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest(
        listener.urls[0]!,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', authorization: 'Bearer alice-token' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    const answers = await Promise.all(Array.from({ length: CALLS }, call));
    const served = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 503);
    expect(peak).toBeLessThanOrEqual(LIMIT);
    expect(served.length + refused.length).toBe(CALLS);
    expect(served.every((answer) => answer.body.result === 'done')).toBe(true);
    expect(refused.every((answer) => answer.body.error?.code === -32002)).toBe(true);
    expect(ran).toBe(served.length);
    // The burst really was over the limit: some calls were refused.
    expect(refused.length).toBeGreaterThan(0);
  } finally {
    agent.destroy();
    await server.close();
  }
});
