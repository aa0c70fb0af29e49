import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { ErrorCodes } from '@resilient-rpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Started, startServer } from './helpers.js';

const started: Started[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map(({ server }) => server.close()));
});

/**
 * A client on its own thread. Connection `a` sends a request and, once answered, is idle
 * (keep-alive); then, while the server's thread is blocked, `b` connects (into the kernel's accept
 * queue) and sends its request, and 10 ms later `a` sends its second one: when the server's loop
 * runs again, the kernel reports the new connection first, and `a`'s request is still unread.
 * Each connection half-closes once it has its answers; reports what came back on each.
 */
const CLIENT = `
const { connect } = require('node:net');
const { workerData, parentPort } = require('node:worker_threads');
const { port, flags } = workerData;
const state = new Int32Array(flags);
const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['x'] });
const request = 'POST /rpc HTTP/1.1\\r\\nhost: 127.0.0.1\\r\\ncontent-type: application/json\\r\\n' +
  'content-length: ' + Buffer.byteLength(body) + '\\r\\n\\r\\n' + body;
const outcomes = {};
function track(name, socket, answers) {
  const outcome = (outcomes[name] = { response: '' });
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    outcome.response += chunk;
    if (outcome.response.split('HTTP/1.1 ').length - 1 === answers) socket.end();
  });
  socket.on('error', (e) => { outcome.error = e.code; });
  socket.on('close', () => {
    outcome.closed = true;
    if (outcomes.a.closed && outcomes.b?.closed) parentPort.postMessage(outcomes);
  });
}
const a = connect({ host: '127.0.0.1', port });
track('a', a, 2);
a.write(request);
a.once('data', () => {
  parentPort.postMessage('idle');
  Atomics.wait(state, 0, 0); // until the server's thread is blocked
  const b = connect({ host: '127.0.0.1', port });
  track('b', b, 1);
  b.write(request);
  setTimeout(() => {
    a.write(request);
    setTimeout(() => { Atomics.store(state, 1, 1); Atomics.notify(state, 1); }, 50);
  }, 10);
});
`;

interface Outcome {
  readonly response: string;
  readonly error?: string;
}

describe('HTTP listener past maxConnections: making room never resets a request the kernel holds', () => {
  it('an idle keep-alive connection whose next request is still unread is not pushed out for a new one', async () => {
    for (let round = 0; round < 5; round++) {
      const s = await startServer({}, { maxConnections: 1 });
      started.push(s);
      const flags = new SharedArrayBuffer(8);
      const state = new Int32Array(flags);
      const worker = new Worker(CLIENT, { eval: true, workerData: { port: s.listener.port, flags } });
      try {
        await once(worker, 'message'); // `a` answered once, idle
        const outcomes = once(worker, 'message') as Promise<[{ a: Outcome; b: Outcome }]>;
        Atomics.store(state, 0, 1);
        Atomics.notify(state, 0);
        // This thread (the server's) is blocked while the client connects and writes.
        expect(Atomics.wait(state, 1, 0, 10_000)).not.toBe('timed-out');
        const [{ a, b }] = await outcomes;
        // `a`: both requests answered, never reset.
        expect(a.error).toBeUndefined();
        expect(a.response.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
        // `b`: served, or refused as not processed (503 -32002), never reset.
        expect(b.error).toBeUndefined();
        if (!b.response.startsWith('HTTP/1.1 200 ')) {
          expect(b.response).toMatch(/^HTTP\/1\.1 503 /);
          expect(b.response).toContain(`"code":${ErrorCodes.Overloaded}`);
        }
      } finally {
        await worker.terminate();
      }
    }
  }, 60_000);
});
