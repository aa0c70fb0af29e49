/**
 * Hostile-traffic soak: one server process (a child) with HTTP, WebSocket and NATS listeners (NATS
 * through a real `nats-server`), legitimate clients calling it on every transport throughout, while
 * attackers run mixed attacks against it:
 *
 * - connection resets (RST) at every stage of an HTTP exchange and of a WebSocket handshake
 *   (before, during and after the headers, during refusals and async `verifyUpgrade`, after the
 *   answer);
 * - unread floods on WebSocket (thousands of requests on a socket that never reads) and request
 *   floods on NATS whose replies nobody reads;
 * - oversize HTTP bodies (declared and chunked), WebSocket frames and NATS messages;
 * - malformed JSON on every transport;
 * - idle connections held open (HTTP and WebSocket), reopened whenever the server closes them;
 * - unauthenticated calls on every transport.
 *
 * Reports whether the server survived, its RSS at start, peak and end, every legitimate call's
 * outcome (failures counted by kind, latency) and the attacks made per kind.
 *
 *   pnpm bench -- --only hostile              several minutes (HOSTILE_SECONDS, default 180; --quick 30)
 *   node --import tsx src/hostile.ts --seconds 30 --out hostile.json      (from bench/)
 *
 * Prints a JSON summary; `--out <file>` (or HOSTILE_OUT) also writes it to a file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type NatsConnection, connect as natsConnect } from '@nats-io/transport-node';
import { createClient, createServer, type RpcClient, RpcError } from '@resilient-rpc/core';
import {
  bearerAuthenticate,
  type ChildHandle,
  type NatsServerHandle,
  signalReady,
  sleep,
  spawnScript,
  startNatsServer,
  TEST_TOKENS,
} from '@resilient-rpc/testkit';
import { httpListener, httpTransport } from '@resilient-rpc/transport-http';
import { natsListener, natsTransport } from '@resilient-rpc/transport-nats';
import { wsListener, wsTransport } from '@resilient-rpc/transport-ws';
import WebSocket from 'ws';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

/** Defaults of the soak. */
export const HostileDefaults = {
  /** Duration of `pnpm bench` (several minutes), s. */
  seconds: 180,
  /** Duration with `--quick`, s. */
  quickSeconds: 30,
  /** The server's `maxMessageBytes` (small, so that oversize NATS messages fit the broker's 1 MB). */
  maxMessageBytes: 256 * 1024,
  /** Idle HTTP connections held open. */
  idleHttp: 1_000,
  /** Idle WebSocket (TCP) connections held open. */
  idleWs: 300,
  /** Requests sent on one unread WebSocket flood. */
  floodRequests: 20_000,
  /** How long an unread flood's socket is held before it is dropped, ms. */
  floodHoldMs: 5_000,
  /** Legitimate callers per transport, each calling in a loop. */
  callersPerTransport: 4,
  /** Pause between one caller's calls, ms. */
  callPauseMs: 20,
  /** RSS sampling interval, ms. */
  sampleMs: 250,
} as const;

const SUBJECT = 'hostile.rpc';
const TOKEN = 'Bearer alice-token';
const SERVER_SCRIPT = fileURLToPath(import.meta.url);

interface Urls {
  http: string;
  ws: string;
  nats: string;
}

// ---------------------------------------------------------------------------------------------
// The server process

async function serve(): Promise<void> {
  const server = createServer({
    maxMessageBytes: HostileDefaults.maxMessageBytes,
    methods: {
      echo: (params: unknown) => params,
      slow: async ([ms]: [number]) => {
        await sleep(ms);
        return ms;
      },
    },
    // Async, as real token checks are: the in-flight slot must be taken before it is awaited.
    authenticate: async (credentials, request) => {
      await Promise.resolve();
      return bearerAuthenticate(credentials, request);
    },
  });
  const http = await server.listen(httpListener({ port: 0 }));
  const ws = await server.listen(
    wsListener({
      port: 0,
      // The documented pattern, async: the upgrade waits on it while a client may reset.
      verifyUpgrade: async (credentials) => {
        await sleep(1);
        return TEST_TOKENS[credentials.headers.authorization ?? ''] !== undefined ? true : 401;
      },
    }),
  );
  const nats = await server.listen(natsListener({ servers: process.env.HOSTILE_NATS_URL, subject: SUBJECT }));
  signalReady({ http: http.urls[0]!, ws: ws.urls[0]!, nats: nats.urls[0]! } satisfies Urls);
}

// ---------------------------------------------------------------------------------------------
// Measurements

/** Resident set size of a process, MiB (Linux /proc); undefined once it is gone. */
function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Math.round((Number(kb) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}

interface CallerStats {
  calls: number;
  ok: number;
  failures: number;
  failuresByKind: Record<string, number>;
  latencies: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

const round = (value: number) => Math.round(value * 10) / 10;

// ---------------------------------------------------------------------------------------------
// Attacks

/** Attacks made, per kind. */
type Counts = Record<string, number>;

interface Attack {
  readonly kind: string;
  /** Parallel loops running this attack. */
  readonly loops: number;
  /** Pause between two attacks of one loop, ms. */
  readonly pauseMs: number;
  run(): Promise<void>;
}

function portOf(url: string): number {
  return Number(new URL(url.replace(/^ws/, 'http').replace(/^nats/, 'http')).port);
}

/** Opens a TCP connection; resolves once connected, or undefined if it failed. */
function tcp(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    socket.once('close', () => resolve(undefined));
  });
}

/** Writes `bytes`, then resets the connection at `when`: a number of ms, or on the first answer byte. */
async function sendThenReset(
  port: number,
  bytes: string | undefined,
  when: number | 'answer',
): Promise<void> {
  const socket = await tcp(port);
  if (socket === undefined) return;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  if (bytes !== undefined) socket.write(bytes);
  if (when === 'answer')
    await Promise.race([new Promise((resolve) => socket.once('data', resolve)), closed, sleep(3_000)]);
  else if (when > 0) await sleep(when);
  if (!socket.destroyed) socket.resetAndDestroy();
  await closed;
}

/** Writes `bytes` and reads the answer until the server closes or `timeoutMs` passes. */
async function sendAndRead(port: number, bytes: string | Buffer, timeoutMs = 3_000): Promise<void> {
  const socket = await tcp(port);
  if (socket === undefined) return;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.resume();
  socket.write(bytes);
  await Promise.race([closed, sleep(timeoutMs)]);
  socket.destroy();
}

function httpPost(body: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    host: '127.0.0.1',
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...headers,
  };
  return `POST /rpc HTTP/1.1\r\n${Object.entries(all)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')}\r\n\r\n${body}`;
}

function upgradeRequest(path: string, authorization?: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
    'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n' +
    `${authorization === undefined ? '' : `authorization: ${authorization}\r\n`}\r\n`
  );
}

const rpcText = (method: string, params: unknown, id: number | string = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, params });

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function httpResetStages(): Array<[string | undefined, number | 'answer']> {
  const echo = rpcText('echo', ['x'.repeat(600)]);
  return [
    [undefined, 0],
    ['POST /rp', 0],
    ['POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: appl', 1],
    [httpPost(echo, { authorization: TOKEN }).slice(0, -300), 1],
    [httpPost(rpcText('slow', [50]), { authorization: TOKEN }), 5],
    [httpPost(rpcText('echo', ['hi']), { authorization: TOKEN }), 'answer'],
    [httpPost(rpcText('echo', ['hi']), { authorization: TOKEN }), 0],
    ['GARBAGE\r\n\r\n', 0],
    [httpPost(rpcText('echo', [1])), 0],
    [httpPost(rpcText('admin.reset', []), { authorization: 'Bearer bob-token' }), 0],
    [httpPost('x'.repeat(8_192)).replace(/content-length: \d+/, `content-length: ${2 * 1024 * 1024}`), 0],
    [`GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 0],
  ];
}

function wsResetStages(): Array<[string | undefined, number | 'answer']> {
  return [
    [undefined, 0],
    [upgradeRequest('/rpc', TOKEN).slice(0, 40), 0],
    [upgradeRequest('/rpc'), 0], // refused 401 while verifyUpgrade is pending
    [upgradeRequest('/rpc'), 2],
    [upgradeRequest('/rpc'), 'answer'],
    [upgradeRequest('/rpc', TOKEN), 0], // accepted, reset during verifyUpgrade
    [upgradeRequest('/rpc', TOKEN), 'answer'], // reset right after 101
    [upgradeRequest('/nowhere', TOKEN), 0], // wrong path
    [upgradeRequest('/nowhere', TOKEN), 'answer'],
  ];
}

/** Opens a WebSocket with `headers`; resolves once open, or undefined when refused or failed. */
function openWs(
  url: string,
  headers: Record<string, string>,
  maxPayload?: number,
): Promise<WebSocket | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers, ...(maxPayload !== undefined && { maxPayload }) });
    socket.on('error', () => resolve(undefined));
    socket.once('open', () => resolve(socket));
    socket.once('close', () => resolve(undefined));
    socket.once('unexpected-response', (request) => {
      request.destroy();
      resolve(undefined);
    });
  });
}

/** Sends `text` on a fresh authenticated WebSocket and waits for one answer or the close. */
async function wsOnce(url: string, text: string | Buffer): Promise<void> {
  const socket = await openWs(url, { authorization: TOKEN });
  if (socket === undefined) return;
  await new Promise<void>((resolve) => {
    socket.once('message', () => resolve());
    socket.once('close', () => resolve());
    socket.send(text);
    setTimeout(resolve, 3_000).unref();
  });
  socket.terminate();
}

/** Holds `count` idle TCP connections to `port`, reopening each the server closes. */
function holdIdle(port: number, count: number, counts: Counts, kind: string, prefix?: string) {
  let stopped = false;
  const sockets = new Set<Socket>();
  const open = () => {
    if (stopped) return;
    const socket = netConnect(port, '127.0.0.1');
    sockets.add(socket);
    socket.on('error', () => {});
    socket.resume();
    socket.once('connect', () => {
      counts[kind] = (counts[kind] ?? 0) + 1;
      // A WebSocket idler starts an upgrade and stops halfway (the slow-loris of upgrades).
      if (prefix !== undefined) socket.write(prefix);
    });
    socket.once('close', () => {
      sockets.delete(socket);
      if (!stopped) setTimeout(open, 200).unref();
    });
  };
  for (let index = 0; index < count; index++) open();
  return () => {
    stopped = true;
    for (const socket of sockets) socket.destroy();
  };
}

function attacks(urls: Urls, nats: () => NatsConnection): Attack[] {
  const httpPort = portOf(urls.http);
  const wsPort = portOf(urls.ws);
  const httpStages = httpResetStages();
  const wsStages = wsResetStages();
  const big = 'x'.repeat(HostileDefaults.maxMessageBytes * 2);
  return [
    {
      kind: 'http reset at a random stage',
      loops: 2,
      pauseMs: 2,
      run: () => {
        const [bytes, when] = pick(httpStages);
        return sendThenReset(httpPort, bytes, when);
      },
    },
    {
      kind: 'http oversize body',
      loops: 1,
      pauseMs: 20,
      run: () =>
        Math.random() < 0.5
          ? sendAndRead(httpPort, httpPost(rpcText('echo', [big]), { authorization: TOKEN }))
          : sendAndRead(
              httpPort,
              `POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: ${TOKEN}\r\n` +
                `transfer-encoding: chunked\r\n\r\n${(big.length).toString(16)}\r\n${big}\r\n0\r\n\r\n`,
            ),
    },
    {
      kind: 'http malformed JSON',
      loops: 1,
      pauseMs: 5,
      run: () =>
        sendAndRead(httpPort, httpPost('{"jsonrpc":"2.0","id":1,"method":', { authorization: TOKEN })),
    },
    {
      kind: 'http unauthenticated call',
      loops: 1,
      pauseMs: 5,
      run: () =>
        sendAndRead(
          httpPort,
          httpPost(rpcText('echo', ['who?']), Math.random() < 0.5 ? {} : { authorization: 'Bearer forged' }),
        ),
    },
    {
      kind: 'ws reset at a random handshake stage',
      loops: 2,
      pauseMs: 2,
      run: () => {
        const [bytes, when] = pick(wsStages);
        return sendThenReset(wsPort, bytes, when);
      },
    },
    {
      kind: 'ws unread flood',
      loops: 1,
      pauseMs: 500,
      run: async () => {
        const socket = await openWs(urls.ws, { authorization: TOKEN });
        if (socket === undefined) return;
        // Never read again: the answers pile up on the server's side of the socket.
        (socket as unknown as { _socket: Socket })._socket.pause();
        const payload = 'f'.repeat(1_000);
        for (let index = 0; index < HostileDefaults.floodRequests; index++) {
          if (socket.readyState !== WebSocket.OPEN) break;
          socket.send(rpcText('echo', [payload], index));
          if (index % 1_000 === 999) await sleep(1);
        }
        await sleep(HostileDefaults.floodHoldMs);
        socket.terminate();
      },
    },
    {
      kind: 'ws oversize frame',
      loops: 1,
      pauseMs: 50,
      run: () => wsOnce(urls.ws, rpcText('echo', [big])),
    },
    {
      kind: 'ws malformed JSON',
      loops: 1,
      pauseMs: 5,
      run: () => wsOnce(urls.ws, Math.random() < 0.5 ? '{"jsonrpc":' : Buffer.from([0xff, 0xfe, 0x7b])),
    },
    {
      kind: 'ws unauthenticated upgrade',
      loops: 1,
      pauseMs: 5,
      run: async () => {
        const socket = await openWs(urls.ws, Math.random() < 0.5 ? {} : { authorization: 'Bearer forged' });
        socket?.terminate();
      },
    },
    {
      kind: 'nats malformed JSON',
      loops: 1,
      pauseMs: 5,
      run: async () => {
        await nats()
          .request(SUBJECT, '{"jsonrpc":', { timeout: 3_000 })
          .catch(() => {});
      },
    },
    {
      kind: 'nats oversize message',
      loops: 1,
      pauseMs: 20,
      run: async () => {
        await nats()
          .request(SUBJECT, rpcText('echo', [big]), { timeout: 3_000 })
          .catch(() => {});
      },
    },
    {
      kind: 'nats unauthenticated call',
      loops: 1,
      pauseMs: 5,
      run: async () => {
        await nats()
          .request(SUBJECT, rpcText('echo', ['who?']), { timeout: 3_000 })
          .catch(() => {});
      },
    },
    {
      kind: 'nats unread flood (1 000 requests)',
      loops: 1,
      pauseMs: 500,
      run: async () => {
        const connection = nats();
        for (let index = 0; index < 1_000; index++) {
          connection.publish(SUBJECT, rpcText('echo', ['f'.repeat(1_000)], index), {
            reply: '_INBOX.nobody.reads',
          });
        }
        await connection.flush();
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Legitimate callers

function legitimateClient(transport: 'http' | 'ws' | 'nats', url: string): RpcClient {
  const transports =
    transport === 'http' ? [httpTransport()] : transport === 'ws' ? [wsTransport()] : [natsTransport()];
  return createClient({
    transports,
    endpoints: [{ url, headers: { authorization: TOKEN } }],
    heartbeat: false,
  });
}

async function callLoop(client: RpcClient, stats: CallerStats, stopped: () => boolean): Promise<void> {
  let n = 0;
  while (!stopped()) {
    const params = { n: n++, text: 'legitimate' };
    const started = performance.now();
    stats.calls++;
    try {
      const result = await client.call('echo', params, { idempotent: true, deadlineMs: 10_000 });
      if ((result as { n?: number }).n !== params.n) throw new Error('a wrong answer');
      stats.ok++;
      stats.latencies.push(performance.now() - started);
    } catch (error) {
      stats.failures++;
      const kind = RpcError.isInstance(error) ? error.kind : 'other';
      stats.failuresByKind[kind] = (stats.failuresByKind[kind] ?? 0) + 1;
    }
    await sleep(HostileDefaults.callPauseMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The soak

/** What one soak found. */
export interface HostileSummary {
  durationSeconds: number;
  startedAt: string;
  machine: { cores: number; loadAverage1mAtStart: number; loadAverage1mAtEnd: number };
  server: { alive: boolean; exit?: number | string };
  rssMiB: { start: number; peak: number; end: number };
  legitimate: Record<
    string,
    {
      calls: number;
      ok: number;
      failures: number;
      failuresByKind: Record<string, number>;
      p50Ms: number;
      p99Ms: number;
      maxMs: number;
    }
  >;
  attacks: Counts;
}

/** Runs the soak for `seconds` and returns its summary. */
export async function soak(seconds: number): Promise<HostileSummary> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg()[0]!;
  let broker: NatsServerHandle | undefined;
  let child: ChildHandle<Urls> | undefined;
  const clients: RpcClient[] = [];
  let attacker: NatsConnection | undefined;
  const stopIdle: Array<() => void> = [];
  try {
    broker = await startNatsServer();
    child = spawnScript<Urls>(SERVER_SCRIPT, {
      args: ['--serve'],
      env: { HOSTILE_NATS_URL: broker.url },
      readyTimeoutMs: 60_000,
    });
    const urls = await child.ready;
    const pid = child.pid;
    await sleep(500);
    const rss = { start: rssMiB(pid) ?? 0, peak: 0, end: 0 };
    rss.peak = rss.start;
    const sampler = setInterval(() => {
      const now = rssMiB(pid);
      if (now !== undefined) rss.peak = Math.max(rss.peak, now);
    }, HostileDefaults.sampleMs);

    let stopped = false;
    const isStopped = () => stopped;
    const legitimate: Record<string, CallerStats> = {};
    const loops: Promise<void>[] = [];
    for (const transport of ['http', 'ws', 'nats'] as const) {
      const stats: CallerStats = { calls: 0, ok: 0, failures: 0, failuresByKind: {}, latencies: [] };
      legitimate[transport] = stats;
      const client = legitimateClient(transport, urls[transport]);
      clients.push(client);
      for (let index = 0; index < HostileDefaults.callersPerTransport; index++)
        loops.push(callLoop(client, stats, isStopped));
    }

    const counts: Counts = {};
    attacker = await natsConnect({ servers: broker.url, maxReconnectAttempts: -1 });
    const natsAttacker = attacker;
    stopIdle.push(holdIdle(portOf(urls.http), HostileDefaults.idleHttp, counts, 'http idle connection'));
    stopIdle.push(
      holdIdle(
        portOf(urls.ws),
        HostileDefaults.idleWs,
        counts,
        'ws idle connection (upgrade half sent)',
        'GET /rpc HTTP/1.1\r\n',
      ),
    );
    for (const attack of attacks(urls, () => natsAttacker)) {
      counts[attack.kind] = 0;
      for (let loop = 0; loop < attack.loops; loop++) {
        loops.push(
          (async () => {
            while (!stopped) {
              await attack.run().catch(() => {});
              counts[attack.kind]!++;
              await sleep(attack.pauseMs);
            }
          })(),
        );
      }
    }

    const deadline = Date.now() + seconds * 1_000;
    while (Date.now() < deadline && child.alive) await sleep(250);
    stopped = true;
    for (const stop of stopIdle.splice(0)) stop();
    await Promise.race([Promise.all(loops), sleep(15_000)]);
    // Let the server settle (closed sockets freed, timers run) before the end figure.
    await sleep(3_000);
    clearInterval(sampler);
    rss.end = rssMiB(pid) ?? 0;
    const alive = child.alive;
    const exit = alive ? undefined : await child.exited;

    const summary: HostileSummary = {
      durationSeconds: seconds,
      startedAt,
      machine: {
        cores: cpus().length,
        loadAverage1mAtStart: round(loadAtStart),
        loadAverage1mAtEnd: round(loadavg()[0]!),
      },
      server: { alive, ...(exit !== undefined && { exit }) },
      rssMiB: rss,
      legitimate: {},
      attacks: counts,
    };
    for (const [transport, stats] of Object.entries(legitimate)) {
      const sorted = stats.latencies.sort((a, b) => a - b);
      summary.legitimate[transport] = {
        calls: stats.calls,
        ok: stats.ok,
        failures: stats.failures,
        failuresByKind: stats.failuresByKind,
        p50Ms: round(percentile(sorted, 0.5)),
        p99Ms: round(percentile(sorted, 0.99)),
        maxMs: round(sorted.at(-1) ?? 0),
      };
    }
    return summary;
  } finally {
    for (const stop of stopIdle) stop();
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await attacker?.close().catch(() => {});
    await child?.kill('SIGKILL');
    // kill, not stop(): the handle's stop() is SIGSTOP, which left the broker behind, hung
    await broker?.kill();
  }
}

function rows(summary: HostileSummary): BenchResult[] {
  const group = 'hostile';
  const result: BenchResult[] = [
    {
      group,
      name: `server (${summary.durationSeconds} s)`,
      values: {
        alive: summary.server.alive ? 'yes' : `no (${summary.server.exit})`,
        'rss start MiB': summary.rssMiB.start,
        'rss peak MiB': summary.rssMiB.peak,
        'rss end MiB': summary.rssMiB.end,
      },
    },
  ];
  for (const [transport, stats] of Object.entries(summary.legitimate)) {
    result.push({
      group,
      name: `legitimate ${transport}`,
      values: {
        calls: stats.calls,
        failures: stats.failures,
        'p50 ms': stats.p50Ms,
        'p99 ms': stats.p99Ms,
        'max ms': stats.maxMs,
      },
    });
  }
  for (const [kind, count] of Object.entries(summary.attacks))
    result.push({ group, name: `attack: ${kind}`, values: { made: count } });
  return result;
}

function write(summary: HostileSummary, out: string | undefined): void {
  if (out !== undefined && out !== '') writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
}

/** The `hostile` group of `pnpm bench`: HOSTILE_SECONDS (default 180, 30 with --quick), HOSTILE_OUT. */
export async function run(options: { quick: boolean }): Promise<BenchResult[]> {
  const fallback = options.quick ? HostileDefaults.quickSeconds : HostileDefaults.seconds;
  const seconds = Number(process.env.HOSTILE_SECONDS ?? fallback);
  const summary = await soak(seconds > 0 ? seconds : fallback);
  console.log(JSON.stringify(summary));
  write(summary, process.env.HOSTILE_OUT);
  return rows(summary);
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  if (index !== -1) return process.argv[index + 1];
  const inline = process.argv.find((arg) => arg.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--serve')) {
    await serve();
  } else {
    const seconds = Number(argument('--seconds') ?? HostileDefaults.seconds);
    const summary = await soak(seconds);
    console.log(JSON.stringify(summary, null, 2));
    write(summary, argument('--out'));
    const failures = Object.values(summary.legitimate).reduce((total, stats) => total + stats.failures, 0);
    process.exit(summary.server.alive && failures === 0 ? 0 : 1);
  }
}
