/**
 * Hostile clients (issue 14): idle connections must not lock legitimate callers out. A server in a
 * child process; another child process holds 10 000 idle connections open against it (reopening
 * any the server closes), spread over 127.0.0.2 … 127.0.0.41, while a legitimate caller on 127.0.0.1
 * calls throughout: every call is served, each within a few seconds.
 */

import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from '@resilient-rpc/core';
import { type ChildHandle, sleep, spawnScript, waitFor } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpListenerOptions, httpTransport } from '../src/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/listener-server.ts', import.meta.url));
const ATTACKERS = 10_000;
const ADDRESSES = 40;
/** A legitimate call must be answered within this long: the claim is "a few seconds". */
const CALL_BUDGET_MS = 3_000;

let child: ChildHandle<{ url: string }> | undefined;
let horde: Horde | undefined;
afterEach(async () => {
  await horde?.stop();
  horde = undefined;
  await child?.kill('SIGKILL');
  child = undefined;
});

async function startServer(options: HttpListenerOptions): Promise<string> {
  child = spawnScript<{ url: string }>(FIXTURE, { env: { LISTENER_OPTIONS: JSON.stringify(options) } });
  return (await child.ready).url;
}

const HORDE = fileURLToPath(new URL('./fixtures/idle-horde.ts', import.meta.url));

/** Idle connections from many loopback addresses (in a child process), reopened after `reopenMs` if given. */
interface Horde {
  /** Connections open now, as last reported. */
  readonly open: () => number;
  stop(): Promise<unknown>;
}

async function idleHorde(port: number, count: number, reopenMs?: number): Promise<Horde> {
  const handle = spawnScript(HORDE, {
    env: {
      HORDE_PORT: String(port),
      HORDE_COUNT: String(count),
      HORDE_ADDRESSES: String(ADDRESSES),
      ...(reopenMs !== undefined && { HORDE_REOPEN_MS: String(reopenMs) }),
    },
    readyTimeoutMs: 60_000,
  });
  await handle.ready;
  return {
    open: () => Number(handle.lines.at(-1)?.split(' ')[1] ?? Number.NaN),
    stop: () => handle.kill('SIGKILL'),
  };
}

/** Calls `echo` every `everyMs` for `forMs`; returns each call's outcome and latency. */
async function legitimateCalls(url: string, forMs: number, everyMs: number) {
  const client = createClient({
    transports: [httpTransport()],
    endpoints: [url],
    heartbeat: false,
    retry: false,
    deadlineMs: 10_000,
  });
  const outcomes: Array<{ ok: boolean; ms: number; error?: string }> = [];
  const calls: Promise<void>[] = [];
  const until = Date.now() + forMs;
  try {
    while (Date.now() < until) {
      const started = performance.now();
      calls.push(
        client.call('echo', ['legitimate']).then(
          () => {
            outcomes.push({ ok: true, ms: performance.now() - started });
          },
          (error: Error) => {
            outcomes.push({ ok: false, ms: performance.now() - started, error: error.message });
          },
        ),
      );
      await sleep(everyMs);
    }
    await Promise.all(calls);
  } finally {
    await client.close();
  }
  return outcomes;
}

/** How many connections the server holds now (its `connections` method; a check, not a claim: 30 s). */
async function connectionsOf(url: string): Promise<number> {
  const client = createClient({ transports: [httpTransport()], endpoints: [url], heartbeat: false });
  try {
    return await client.call<number>('connections', [], { deadlineMs: 30_000 });
  } finally {
    await client.close();
  }
}

/** One POST of `echo` with node:http from `localAddress`, no keep-alive. */
function rawPost(port: number, localAddress: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { port, host: '127.0.0.1', localAddress, path: '/rpc', method: 'POST', agent: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.setHeader('content-type', 'application/json');
    request.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: [] }));
  });
}

describe('10 000 idle connections do not lock legitimate callers out', () => {
  it('idle connections give way to callers, with the server full', async () => {
    // Fewer slots than idle connections, and no timeout to help: the server is full for the whole
    // test (each connection it gives up is reopened), and only giving way serves callers.
    // - headersTimeoutMs past the test: node:http closes a connection that has sent nothing once
    //   headersTimeout (10 s by default) passes, idleTimeoutMs 0 or not. It closed the horde in
    //   waves (10 000 open, then 1 300, back to 10 000 and down again, every 10-15 s), each wave
    //   reopened at once 1 s later.
    // - 100 more idle connections than slots, not 1 000 (maxConnections 9 000): the excess never
    //   fits, so it is a storm of that many reconnects a second, each making the server close
    //   another; 100 stays well under the listen backlog (node's 511).
    // A storm of thousands, on a loaded machine (load 17-24), comes in faster than the server
    // accepts: the kernel's accept queue overflowed, a legitimate caller's SYN was dropped and
    // retransmitted after 1, 2 and 4 s, and calls took 6-10 s, with TcpExtListenOverflows rising
    // during them. That is a connection flood against the kernel's queue, which the server never
    // sees, not idle connections holding its slots, the claim here.
    const maxConnections = ATTACKERS - 100;
    const url = await startServer({
      maxConnections,
      idleTimeoutMs: 0,
      headersTimeoutMs: 120_000,
      keepAliveTimeoutMs: 5_000,
    });
    horde = await idleHorde(Number(new URL(url).port), ATTACKERS, 1_000);
    // The claim's precondition, checked: the server is full before the callers come. The horde's
    // READY counts connects, which the kernel completes before the server has accepted them.
    await waitFor(
      async () => (await connectionsOf(url)) >= maxConnections,
      'the server to hold maxConnections',
      60_000,
      250,
    );
    const outcomes = await legitimateCalls(url, 8_000, 200);
    const failed = outcomes.filter((outcome) => !outcome.ok);
    expect(failed).toEqual([]);
    expect(outcomes.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...outcomes.map((outcome) => outcome.ms))).toBeLessThan(CALL_BUDGET_MS);
    expect(child!.alive).toBe(true);
  }, 120_000);

  it('with maxConnectionsPerAddress: the horde holds at most its share, callers are served', async () => {
    // headersTimeoutMs past the test, as above: node:http's 10 s default closed the horde's
    // admitted connections (they send nothing) 10 s after they connected, so a loaded machine
    // that took longer to get here found 127.0.0.2 under its 50 and no refusal to see.
    const url = await startServer({
      maxConnections: ATTACKERS / 2,
      maxConnectionsPerAddress: 50,
      idleTimeoutMs: 0,
      headersTimeoutMs: 120_000,
    });
    const port = Number(new URL(url).port);
    horde = await idleHorde(port, ATTACKERS);
    // Once the server has taken them in, one more from an attacking address is refused, clearly.
    // A refused connection is destroyed refusedGraceMs (1 s) after it connected: while the server
    // is still taking the horde in on a loaded machine, the 503 may not be written by then and the
    // probe sees ECONNRESET (seen once in a CI run). Only that error means "try again".
    let refused: { status: number; body: any } | undefined;
    const probe = () =>
      rawPost(port, '127.0.0.2').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNRESET') return { status: 0, body: undefined };
        throw error;
      });
    await waitFor(
      async () => (refused = await probe()).status === 503,
      'a refusal for 127.0.0.2',
      30_000,
      200,
    );
    expect(refused!.body.error).toMatchObject({
      code: -32002,
      message: 'too many connections from this address',
      data: { maxConnectionsPerAddress: 50 },
    });
    const outcomes = await legitimateCalls(url, 5_000, 200);
    expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
    expect(Math.max(...outcomes.map((outcome) => outcome.ms))).toBeLessThan(CALL_BUDGET_MS);
    // Each address keeps at most its 50 connections; the rest were refused and closed (1 s after
    // connecting). The margin of 10 is for this test's own callers.
    const client = createClient({ transports: [httpTransport()], endpoints: [url], heartbeat: false });
    try {
      await waitFor(
        async () => (await client.call<number>('connections')) <= ADDRESSES * 50 + 10,
        'the refused connections to close',
        30_000,
        250,
      );
    } finally {
      await client.close();
    }
    expect(child!.alive).toBe(true);
  }, 120_000);
});

describe('idle connections are closed', () => {
  it('a connection that never sends a request is closed after idleTimeoutMs', async () => {
    const url = await startServer({ idleTimeoutMs: 500 });
    const socket = netConnect(Number(new URL(url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = performance.now();
    await new Promise((resolve) => socket.once('close', resolve));
    const elapsed = performance.now() - started;
    // The claimed bound is idleTimeoutMs; the margin (1 s) absorbs a loaded machine.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('a keep-alive connection idle after its answer is closed after idleTimeoutMs', async () => {
    const url = await startServer({ idleTimeoutMs: 500 });
    const socket = netConnect(Number(new URL(url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: [1] });
    socket.write(
      `POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    await new Promise((resolve) => socket.once('data', resolve));
    const started = performance.now();
    await new Promise((resolve) => socket.once('close', resolve));
    const elapsed = performance.now() - started;
    // node:http keeps an idle keep-alive socket up to 1 s past keepAliveTimeout (so that a client
    // honouring `Keep-Alive: timeout=` never races the close); the margin is another 1 s.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2_500);
  });
});
