/**
 * Hostile clients (issue 14, item 2): write backpressure. A client that sends and never reads
 * must not grow the server's memory: the server stops reading a connection whose unsent replies
 * pass `maxBufferedBytes`, keeps serving other clients, and terminates the connection once it has
 * not been read for `stalledReadTimeoutMs`. Memory is measured inside the server's own process.
 */
import { createClient, createServer, type RpcClient } from '@resilient-rpc/core';
import { type ChildHandle, spawnScript } from '@resilient-rpc/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { wsListener, wsTransport } from '../src/index.js';
import { fixture } from './helpers.js';

const MB = 1024 * 1024;
/** The bound the issue sets on the server's growth under one unread flood. */
const GROWTH_BUDGET = 64 * MB;
/** A legitimate call is answered within this, ms (the server idles otherwise; margin for a loaded CI machine). */
const PROMPT_MS = 1_000;
/**
 * Two unread sockets of id-less batches (without backpressure this machine grew 40 MB in 8 s, more
 * the longer it runs). Every invalid entry is answered -32600 (it takes no in-flight slot, so the
 * dispatcher answers it even when the connection is full), so the server writes ~50 reply bytes per
 * byte read until the kernel buffers fill and the reads pause (10 MB when such entries were
 * dropped once the connection was full). Peak measured on a loaded machine: 23-30 MB while the
 * dispatcher built and serialised an answer per entry, 17-24 MB (8 runs, load average 10-19)
 * since it reuses one frozen answer and its JSON text per reason. The budget is that plus a third.
 */
const BATCH_GROWTH_BUDGET = 32 * MB;
const STALLED_READ_TIMEOUT_MS = 8_000;

interface Urls {
  plain: string;
}
interface Memory {
  rss: number;
  peakRss: number;
  heapUsed: number;
}

let child: ChildHandle<Urls>;
let urls: Urls;
let legit: RpcClient;

// A fresh server process per attack: RSS a previous attack grew would hide the next one's growth.
beforeEach(async () => {
  child = spawnScript<Urls>(fixture('hostile-server.ts'), {
    env: {
      NODE_OPTIONS: '--expose-gc',
      LISTENER_OPTIONS: JSON.stringify({ stalledReadTimeoutMs: STALLED_READ_TIMEOUT_MS }),
    },
  });
  urls = await child.ready;
  legit = createClient({
    transports: [wsTransport()],
    endpoints: [urls.plain],
    retry: false,
    heartbeat: false,
    deadlineMs: 10_000,
  });
  // Warm up: code paths compiled, heap at its working size.
  for (let round = 0; round < 20; round++) {
    await Promise.all(Array.from({ length: 100 }, (_, index) => legit.call('echo', [index])));
  }
});

const attackers: WebSocket[] = [];
afterEach(async () => {
  for (const attacker of attackers.splice(0)) attacker.terminate();
  await legit?.close();
  await child?.kill();
});

/** A client that never reads: its socket is paused as soon as it opens. */
async function openUnread(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  attackers.push(socket);
  socket.on('error', () => {});
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.pause();
  return socket;
}

/**
 * `texts` as one buffer of client text frames (masked with a zero key, as RFC 6455 allows the
 * server to read), written to the attacker's TCP socket in one call. Sent one `send` at a time,
 * masking 100 MB took the test process 13 s at load average 12: its own legitimate client could
 * not run meanwhile, and the server rightly ended both connections (the attacker's after
 * `stalledReadTimeoutMs`, the legitimate one, silent past a heartbeat interval, with 1006).
 */
function rawFrames(texts: readonly string[]): Buffer {
  const frames = texts.map((text) => {
    const payload = Buffer.from(text);
    if (payload.length >= 65_536) throw new RangeError('rawFrames: frames up to 64 KiB');
    const header = Buffer.alloc(payload.length < 126 ? 6 : 8);
    header[0] = 0x81; // FIN, text
    if (payload.length < 126) header[1] = 0x80 | payload.length;
    else {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(payload.length, 2);
    }
    // The 4-byte masking key stays zero: the payload is its own masked form.
    return Buffer.concat([header, payload]);
  });
  return Buffer.concat(frames);
}

/** Writes prebuilt frames under `socket`'s WebSocket framing (counted in its `bufferedAmount`). */
function writeRaw(socket: WebSocket, frames: Buffer): void {
  (socket as unknown as { _socket: { write(data: Buffer): boolean } })._socket.write(frames);
}

/**
 * Runs `attack` for `durationMs` while a legitimate client calls every 100 ms; returns the server's
 * peak RSS growth over its baseline and the slowest legitimate call.
 */
async function underAttack(
  attack: () => void,
  durationMs: number,
): Promise<{ growth: number; slowestMs: number; calls: number }> {
  const baseline = (await legit.call('resetPeak')) as number;
  attack();
  let slowestMs = 0;
  let calls = 0;
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    const started = Date.now();
    await expect(legit.call('echo', ['still served'])).resolves.toEqual(['still served']);
    slowestMs = Math.max(slowestMs, Date.now() - started);
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const memory = (await legit.call('memory')) as Memory;
  return { growth: memory.peakRss - baseline, slowestMs, calls };
}

describe('a client that sends and never reads', () => {
  it('100 000 unread 1 KB requests on one socket: server memory grows < 64 MB, others are served promptly, the socket is closed', async () => {
    const payload = 'x'.repeat(1_000);
    // Built first, so that the sending itself is one write (the stall timer runs from the first pause).
    const frames = rawFrames(
      Array.from(
        { length: 100_000 },
        (_, index) => `{"jsonrpc":"2.0","method":"echo","params":["${payload}"],"id":${index + 1}}`,
      ),
    );
    const attacker = await openUnread(urls.plain);
    let unsent = 0;
    const result = await underAttack(() => {
      writeRaw(attacker, frames);
      // Sampled well before stalledReadTimeoutMs can end the connection.
      setTimeout(() => (unsent = attacker.bufferedAmount), 1_000);
    }, 4_000);
    console.log(
      `unread flood: server peak RSS +${(result.growth / MB).toFixed(1)} MB, slowest legitimate call ${result.slowestMs} ms over ${result.calls} calls`,
    );
    expect(result.growth, 'server peak RSS growth').toBeLessThan(GROWTH_BUDGET);
    expect(result.slowestMs, 'slowest legitimate call, ms').toBeLessThan(PROMPT_MS);
    // Most of the flood is still unsent in the attacker's own process: the server stopped reading.
    expect(unsent, 'bytes the attacker could not send').toBeGreaterThan(50 * MB);
    // Not read for stalledReadTimeoutMs: terminated, and its slot is free.
    await expect
      .poll(async () => ((await legit.call('connections')) as { plain: number }).plain, {
        timeout: STALLED_READ_TIMEOUT_MS + 5_000,
        interval: 200,
      })
      .toBe(1);
  }, 40_000);

  it('unread batches of id-less entries (each answered with an error) on two sockets stay bounded too', async () => {
    const first = await openUnread(urls.plain);
    const second = await openUnread(urls.plain);
    // 100 entries of one byte each: every one is answered -32600, about 50 bytes out per byte in.
    const batches = rawFrames(Array(30_000).fill(JSON.stringify(Array.from({ length: 100 }, () => 1))));
    const result = await underAttack(() => {
      writeRaw(first, batches);
      writeRaw(second, batches);
    }, 8_000);
    console.log(
      `unread id-less batches: server peak RSS +${(result.growth / MB).toFixed(1)} MB, slowest legitimate call ${result.slowestMs} ms`,
    );
    // Per socket: the 1 MiB bound plus the replies of at most maxInFlightPerConnection (1 000)
    // entries, which stay in flight until written; twice that and room for the heap's own noise.
    expect(result.growth).toBeLessThan(BATCH_GROWTH_BUDGET);
    expect(result.slowestMs).toBeLessThan(PROMPT_MS);
  }, 30_000);
});

describe('in flight until written', () => {
  it('a request stays counted against maxInFlightPerConnection until its reply is written, not when its handler ends', async () => {
    const server = createServer({
      methods: { echo: (params: unknown) => params },
      maxMessageBytes: 2 * MB,
    });
    // No pause here (a bound larger than every reply): only the in-flight count holds the line.
    const listener = await server.listen(
      wsListener({ port: 0, maxInFlightPerConnection: 5, maxBufferedBytes: 256 * MB }),
    );
    try {
      const attacker = await openUnread(listener.urls[0]!);
      const answers = new Map<unknown, any>();
      attacker.on('message', (data) => {
        const message = JSON.parse(data.toString());
        answers.set(message.id, message);
      });
      // 60 requests for 1 MB replies, one at a time: each handler ends at once, but once the
      // kernel buffers of the loopback pair are full (tens of MB) the replies stay unwritten.
      const big = 'y'.repeat(MB);
      for (let id = 1; id <= 60; id++) {
        attacker.send(`{"jsonrpc":"2.0","method":"echo","params":["${big}"],"id":${id}}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      attacker.resume();
      // Waits for the 60th answer; the bound only ends a hang. 60 MB each way through JSON and
      // ws framing in this one process: at load average 14 the sends took 4.7 s and the answers
      // another 9 s (8 a second, none lost), so 20 s (and 40 for the test) ran out at load 15.
      await expect.poll(() => answers.size, { timeout: 45_000 }).toBe(60);
      const refused = [...answers.values()].filter((answer) => answer.error?.code === -32002);
      const served = [...answers.values()].filter((answer) => 'result' in answer);
      expect(refused.length).toBeGreaterThan(0);
      expect(served.length).toBeGreaterThanOrEqual(5);
      for (const answer of served) expect(answer.result[0]).toHaveLength(MB);
    } finally {
      await server.close();
    }
  }, 75_000); // the sends (60 × 10 ms apart: 4.7 s at load 14), the answers' 45 s and the checks
});
