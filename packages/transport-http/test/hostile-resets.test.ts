/**
 * Hostile clients (issue 14): no socket error on any path of the HTTP listener can crash the
 * process. A server runs in a child process; raw TCP and TLS sockets reset (RST, through
 * `resetAndDestroy()`) at every stage of an exchange — before and while headers arrive, during the
 * body, during every refusal (400, 401, 403, 404, 413, 431, 503 in flight, 503 connection limit),
 * while the handler runs, after the response and during the TLS handshake — in a loop. Then a
 * normal call must still be served and the child still alive.
 */

import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createClient } from '@resilient-rpc/core';
import { type ChildHandle, type SelfSigned, selfSigned, sleep, spawnScript } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpTransport } from '../src/index.js';

interface Urls {
  plain: string;
  tight: string;
  tls: string;
}

const AUTH = 'Bearer alice-token';
const ROUNDS = 12;

let certificate: SelfSigned;
let child: ChildHandle<Urls>;
let urls: Urls;

beforeAll(async () => {
  certificate = selfSigned();
  child = spawnScript<Urls>(fileURLToPath(new URL('./fixtures/hostile-server.ts', import.meta.url)), {
    env: { TLS_KEY_FILE: certificate.keyFile, TLS_CERT_FILE: certificate.certFile },
  });
  urls = await child.ready;
});

afterAll(async () => {
  await child?.kill('SIGKILL');
  certificate?.remove();
});

const body = (method: string, params: unknown = []) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });

function post(text: string, headers: Record<string, string> = {}, path = '/rpc'): string {
  const all: Record<string, string> = {
    host: '127.0.0.1',
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  };
  const lines = Object.entries(all).map(([name, value]) => `${name}: ${value}`);
  return `POST ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${text}`;
}

/** What a stage sends before the reset, and when the reset comes. */
interface Stage {
  readonly name: string;
  /** Bytes written once connected (none: reset right after connecting). */
  readonly send?: string | Buffer;
  /** Reset after the first response byte instead of after a short random delay. */
  readonly afterResponse?: boolean;
}

const oversizeBody = 'x'.repeat(8_192);
const STAGES: readonly Stage[] = [
  { name: 'right after connect' },
  { name: 'mid request line', send: 'POST /rp' },
  { name: 'mid headers', send: 'POST /rpc HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: appl' },
  { name: 'mid body', send: post(body('echo', ['x'.repeat(600)]), { authorization: AUTH }).slice(0, -300) },
  { name: 'while the handler runs', send: post(body('sleep', [50]), { authorization: AUTH }) },
  {
    name: 'after the response',
    send: post(body('echo', ['hi']), { authorization: AUTH }),
    afterResponse: true,
  },
  { name: 'during 400 (not HTTP)', send: 'GARBAGE\r\n\r\n' },
  { name: 'during 400 (malformed JSON)', send: post('{"jsonrpc":', { authorization: AUTH }) },
  { name: 'during 401', send: post(body('echo', ['x'])) },
  { name: 'during 403', send: post(body('admin.reset'), { authorization: 'Bearer bob-token' }) },
  { name: 'during 404', send: post(body('echo'), {}, '/nowhere') },
  { name: 'during 413 (declared)', send: post(oversizeBody, { authorization: AUTH }) },
  {
    name: 'during 413 (chunked)',
    send: `POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n2000\r\n${oversizeBody}\r\n`,
  },
  { name: 'during 431', send: `GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(4_096)}\r\n\r\n` },
  {
    name: 'during 100-continue refusal',
    send: post('', { authorization: AUTH, expect: '100-continue', 'content-length': '9999' }),
  },
];

/** Opens a socket (TCP or TLS), runs the stage and resets it; resolves once the socket closed. */
async function attack(url: string, stage: Stage, round: number, secure: boolean): Promise<void> {
  const { port } = new URL(url);
  // TLS runs over a TCP socket of our own: only a TCP socket can be reset.
  const raw = netConnect(Number(port), '127.0.0.1');
  raw.on('error', () => {});
  const socket: Socket = secure ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
  const reset = () => {
    if (!raw.destroyed) raw.resetAndDestroy();
  };
  const connected = await new Promise<boolean>((resolve) => {
    socket.once(secure ? 'secureConnect' : 'connect', () => resolve(true));
    raw.once('close', () => resolve(false));
  });
  if (!connected) return closed;
  if (stage.send !== undefined) socket.write(stage.send);
  if (stage.afterResponse) {
    await Promise.race([new Promise((resolve) => socket.once('data', resolve)), closed, sleep(2_000)]);
  } else {
    // Vary the moment: at once, on the next turn, or after a few ms (in or after the refusal).
    const delay = round % 3;
    if (delay === 1) await new Promise((resolve) => setImmediate(resolve));
    else if (delay === 2) await sleep(round % 7);
  }
  reset();
  return closed;
}

/** Resets during the TLS handshake itself: after a partial or a whole ClientHello. */
async function attackHandshake(url: string, round: number): Promise<void> {
  const { port } = new URL(url);
  if (round % 2 === 0) {
    // Raw TCP to the TLS port: a truncated ClientHello record, then RST.
    const socket = netConnect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    await sleep(round % 5);
    socket.resetAndDestroy();
    return;
  }
  // A real TLS client whose TCP connection is reset mid-handshake.
  const raw = netConnect(Number(port), '127.0.0.1');
  raw.on('error', () => {});
  await new Promise((resolve) => raw.once('connect', resolve));
  const socket = tlsConnect({ socket: raw, rejectUnauthorized: false });
  socket.on('error', () => {});
  await sleep(round % 4);
  if (!raw.destroyed) raw.resetAndDestroy();
}

/** Holds the `tight` listener's only slot, so every other connection meets the connection limit. */
async function holdTightSlot(): Promise<Socket> {
  const { port } = new URL(urls.tight);
  const socket = netConnect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  // Keep it busy (a request in progress), so that it is not the idle one given up under pressure.
  socket.write(post(body('sleep', [60_000]), { authorization: AUTH }));
  await sleep(100);
  return socket;
}

async function normalCall(url: string): Promise<unknown> {
  const client = createClient({
    transports: [httpTransport({ headers: { authorization: AUTH }, tls: { rejectUnauthorized: false } })],
    endpoints: [url],
    heartbeat: false,
  });
  try {
    return await client.call('echo', ['still here']);
  } finally {
    await client.close();
  }
}

describe('socket resets at every stage never crash the HTTP listener', () => {
  it('plain HTTP: every stage, in a loop, then a normal call', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(STAGES.map((stage) => attack(urls.plain, stage, round, false)));
    }
    expect(child.alive).toBe(true);
    expect(await normalCall(urls.plain)).toEqual(['still here']);
  });

  it('during 503 refusals: in-flight limit and connection limit', async () => {
    // maxInFlight is 4: four slow calls hold every slot while the resets meet 503 -32002.
    const busy = Array.from({ length: 4 }, () =>
      attack(
        urls.plain,
        { name: 'slow', send: post(body('sleep', [1_500]), { authorization: AUTH }), afterResponse: true },
        0,
        false,
      ),
    );
    await sleep(200);
    const held = await holdTightSlot();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all([
          attack(
            urls.plain,
            { name: '503 in flight', send: post(body('echo', ['x']), { authorization: AUTH }) },
            round,
            false,
          ),
          attack(
            urls.plain,
            {
              name: '503 read',
              send: post(body('echo', ['x']), { authorization: AUTH }),
              afterResponse: true,
            },
            round,
            false,
          ),
          attack(
            urls.tight,
            { name: '503 connections', send: post(body('echo', ['x']), { authorization: AUTH }) },
            round,
            false,
          ),
          attack(
            urls.tight,
            {
              name: '503 connections, read',
              send: post(body('echo', ['x']), { authorization: AUTH }),
              afterResponse: true,
            },
            round,
            false,
          ),
          attack(urls.tight, { name: 'over the limit, nothing sent' }, round, false),
        ]);
      }
    } finally {
      held.resetAndDestroy();
    }
    await Promise.all(busy);
    expect(child.alive).toBe(true);
    expect(await normalCall(urls.plain)).toEqual(['still here']);
    expect(await normalCall(urls.tight)).toEqual(['still here']);
  });

  it('https: resets during the handshake and at every stage after it, then a normal call', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all([
        attackHandshake(urls.tls, round),
        attackHandshake(urls.tls, round + 1),
        ...STAGES.map((stage) => attack(urls.tls, stage, round, true)),
      ]);
    }
    expect(child.alive).toBe(true);
    expect(await normalCall(urls.tls)).toEqual(['still here']);
    // A plain https request as well (node:https, no client library).
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpsRequest(
        `${new URL(urls.tls).origin}/health`,
        { rejectUnauthorized: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.end();
    });
    expect(status).toBe(200);
  });
});
