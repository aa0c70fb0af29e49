/**
 * Hostile clients (issue 14, item 1): no socket error on any path crashes the server process.
 * The server runs in a child process with four WebSocket listeners (plain, async verifyUpgrade,
 * full at one connection, wss with async verifyUpgrade) and a plain HTTP server. Raw TCP clients
 * reset their connection (RST, `resetAndDestroy`) at every stage of the handshake, in a loop;
 * then the child must be alive and every listener in it must still serve.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createClient } from '@resilient-rpc/core';
import { type ChildHandle, type SelfSigned, selfSigned, spawnScript } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { wsTransport } from '../src/index.js';
import { fixture } from './helpers.js';

interface Urls {
  plain: string;
  verify: string;
  full: string;
  tls: string;
  http: string;
}

let pair: SelfSigned;
let child: ChildHandle<Urls>;
let urls: Urls;

beforeAll(async () => {
  pair = selfSigned();
  child = spawnScript<Urls>(fixture('hostile-server.ts'), {
    env: { TLS_KEY_FILE: pair.keyFile, TLS_CERT_FILE: pair.certFile },
  });
  urls = await child.ready;
});

afterAll(async () => {
  await child?.kill();
  pair?.remove();
});

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
function upgradeRequest(path: string, authorization?: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
    (authorization ? `Authorization: ${authorization}\r\n` : '') +
    '\r\n'
  );
}

/** When the client resets, relative to writing its bytes. */
type When = 'at-once' | 'next-tick' | '1ms' | '25ms' | 'on-response';
const WHEN: When[] = ['at-once', 'next-tick', '1ms', '25ms', 'on-response'];

/** Waits for `when`, then resets `raw` (an RST, not a FIN); resolves once it is closed. */
function resetLater(raw: Socket, when: When, responded: Promise<unknown>): Promise<void> {
  const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
  const reset = () => {
    if (!raw.destroyed) raw.resetAndDestroy();
  };
  if (when === 'at-once') reset();
  else if (when === 'next-tick') setImmediate(reset);
  else if (when === '1ms') setTimeout(reset, 1);
  else if (when === '25ms') setTimeout(reset, 25);
  else {
    void responded.then(reset);
    setTimeout(reset, 1_000); // never hang on a server that does not answer
  }
  return closed;
}

/** A plain TCP client: writes `bytes` (maybe nothing) and resets as `when` says. */
function attackPlain(url: string, bytes: string, when: When): Promise<void> {
  const { port } = new URL(url);
  return new Promise<void>((resolve) => {
    const raw = netConnect(Number(port), '127.0.0.1');
    raw.on('error', () => {});
    const responded = new Promise((done) => raw.once('data', done));
    raw.once('connect', () => {
      if (bytes.length > 0) raw.write(bytes);
      void resetLater(raw, when, responded).then(resolve);
    });
    raw.once('close', () => resolve());
  });
}

/**
 * A TLS client on a TCP socket of its own (only a TCP socket can be reset): `stage` says how far
 * the TLS handshake goes before `bytes` are written and the reset follows.
 */
function attackTls(url: string, bytes: string, when: When, stage: 'hello' | 'secure'): Promise<void> {
  const { port } = new URL(url);
  return new Promise<void>((resolve) => {
    const raw = netConnect(Number(port), '127.0.0.1');
    raw.on('error', () => {});
    raw.once('close', () => resolve());
    raw.once('connect', () => {
      const secure = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
      secure.on('error', () => {});
      const responded = new Promise((done) => secure.once('data', done));
      if (stage === 'hello') {
        // The ClientHello is on its way; the reset lands during the TLS handshake.
        void resetLater(raw, when, responded).then(resolve);
        return;
      }
      secure.once('secureConnect', () => {
        if (bytes.length > 0) secure.write(bytes);
        void resetLater(raw, when, responded).then(resolve);
      });
    });
  });
}

/** Every attack of one round, each at every `when`. */
function round(): Array<Promise<void>> {
  const attacks: Array<Promise<void>> = [];
  const plainKinds = (path: string) => [
    '', // connect, then reset
    upgradeRequest(path).slice(0, 40), // partial request
    upgradeRequest('/wrong-path'), // refused 404
    upgradeRequest(path), // plain: upgraded; verify: 401 after 20 ms; full: 503
    upgradeRequest(path, 'Bearer nope'), // verify: 401 while pending
    upgradeRequest(path, 'Bearer ok'), // verify: upgraded after 20 ms
    `${upgradeRequest(path, 'Bearer ok')}\x81\xfe\x00`, // upgraded, then a partial frame
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n', // plain HTTP request: 426
  ];
  for (const url of [urls.plain, urls.verify, urls.full]) {
    const path = new URL(url).pathname;
    for (const bytes of plainKinds(path)) {
      for (const when of WHEN) attacks.push(attackPlain(url, bytes, when));
    }
  }
  // TLS garbage instead of a ClientHello, then a reset.
  for (const when of WHEN)
    attacks.push(attackPlain(urls.tls, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', when));
  const tlsPath = new URL(urls.tls).pathname;
  for (const when of WHEN) {
    attacks.push(attackTls(urls.tls, '', when, 'hello'));
    for (const bytes of [
      upgradeRequest(tlsPath).slice(0, 40),
      upgradeRequest('/wrong-path'),
      upgradeRequest(tlsPath),
      upgradeRequest(tlsPath, 'Bearer ok'),
    ]) {
      attacks.push(attackTls(urls.tls, bytes, when, 'secure'));
    }
  }
  return attacks;
}

async function callEcho(url: string, value: string): Promise<unknown> {
  const client = createClient({
    transports: [
      wsTransport({
        reconnectMaxAttempts: 1,
        tls: { ca: pair.cert },
        headers: { authorization: 'Bearer ok' },
      }),
    ],
    endpoints: [url],
    retry: false,
    heartbeat: false,
    deadlineMs: 5_000,
  });
  try {
    return await client.call('echo', [value]);
  } finally {
    await client.close();
  }
}

describe('resets at every stage of the handshake', () => {
  it('never crash the process: afterwards every listener in it still serves', async () => {
    // Hold the one slot of the `full` listener, so that its upgrades are refused with 503.
    const holder = new WebSocket(urls.full);
    await new Promise((resolve, reject) => {
      holder.once('open', resolve);
      holder.once('error', reject);
    });
    let attacks = 0;
    try {
      for (let index = 0; index < 6; index++) {
        const batch = round();
        attacks += batch.length;
        await Promise.all(batch);
        expect(child.alive, `the server process died in round ${index}`).toBe(true);
      }
    } finally {
      holder.terminate();
    }
    expect(attacks).toBeGreaterThanOrEqual(900);
    // Give late errors (after the attacker is gone) a moment to surface.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(child.alive).toBe(true);
    await expect(callEcho(urls.plain, 'plain')).resolves.toEqual(['plain']);
    await expect(callEcho(urls.verify, 'verify')).resolves.toEqual(['verify']);
    // Its one slot frees once the server has seen the holder go.
    await expect
      .poll(() => callEcho(urls.full, 'full').catch(() => 'refused'), { timeout: 5_000 })
      .toEqual(['full']);
    await expect(callEcho(urls.tls, 'tls')).resolves.toEqual(['tls']);
    const response = await fetch(urls.http);
    expect(await response.text()).toBe('ok');
    expect(child.alive).toBe(true);
  });
});
