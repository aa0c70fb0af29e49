/**
 * HTTP echo benchmark (issue 6). One run measures, at concurrency 1 and 64, a JSON-RPC echo
 * against one resilient-rpc HTTP server running in a **child process** (so that client and server
 * do not share an event loop):
 *
 * - `resilient-rpc`: createClient + httpTransport with every policy on (deadline, retry + budget,
 *   p2c peak-EWMA, circuit breaker, outlier detection, heartbeat, stall detection, hedging for
 *   the idempotent echo);
 * - `axios defaults`: `axios.create({ httpAgent: keep-alive })`, `post(url, object)`;
 * - `axios fastest`: plus `maxRedirects: 0`, `proxy: false`, a pre-serialised string body with an
 *   identity `transformRequest`, `responseType: 'text'` and an identity `transformResponse`
 *   (the body parsed with JSON.parse);
 * - `node:http`: a raw keep-alive `http.request` (the ceiling).
 *
 * Two more rows measure each side alone against a raw node:http echo server in the same child
 * (`resilient-rpc client → raw server`, `node:http client → raw server`), so a regression shows
 * on the side it is: the "per side" ratio row compares our client with the raw client (both
 * against the raw server) and our listener with the raw server (both called by the raw client).
 *
 * Sockets: every client here uses a keep-alive agent without a socket limit (Node's default, and
 * the transport's), so at c=64 each keeps 64 connections; the raw server counts its POSTs and
 * connections for the profiling harness (GET /cpu).
 *
 * Method: every measurement runs in its own processes. For each concurrency, repeat and variant
 * (the order rotated each repeat) the benchmark starts a fresh server child, then a fresh client
 * child that creates only that variant's client, warms it up (see below), measures one closed
 * loop (3 s, 1 s with --quick), prints its samples and is killed with the server. Why:
 * run in one process, every client existed from the start, so the three resilient-rpc clients'
 * heartbeat timers and pools ran in the background while every other variant was measured, and
 * each variant ran in whatever heap, GC and JIT state the variants before it left (our client's
 * code shares axios and node:http with the others); on the server side, our listener and the
 * raw server kept every earlier variant's sockets and garbage. A fresh pair per measurement gives
 * each variant the same starting point; the cost is ~1 s of process start-up per measurement,
 * not measured. Children run the way this process runs (same Node flags and environment: on
 * `pnpm bench`, the built dist/; see fixtures/bench-child.ts).
 *
 * Warm-up: by call count, not by time: a closed loop until 10 000 calls were answered and at
 * least 1 s (300 ms with --quick) has passed. A cold process runs each client's code unoptimised
 * at first, and V8 optimises a function after it has run a given amount of bytecode, i.e. after a
 * number of calls, whatever time they took; fixtures/warmup-http.ts (windows of 1 000 calls in a
 * fresh process, client CPU µs per call) shows every variant's cost per call falling 5-10× over
 * its first calls and flat from ~4 000-9 000 calls on (node:http and ours ~4 000-6 000, axios's
 * rows up to ~9 000). The former 1 s time-based warm-up ended, for every variant, after only
 * ~700-1 700 calls (the published record's warm-up samples), still on the ramp. A client that
 * is fast once optimised (node:http, ours: ~7 000-8 500 calls/s at c=1) then leaves the ramp in
 * the first fraction of its 3 s measurement; axios, a few times slower per call, spent most of
 * its measurement there: a large part of why the axios rows dropped ~2× when the fresh-process
 * method came in (c=1 axios defaults 3 644 → 1 656 calls/s while node:http stayed ~8 500) and
 * "ours ÷ axios defaults" jumped (warmed up, axios defaults still costs ~4-5× node:http's client
 * CPU per call). 10 000 calls puts every variant past its ramp with a margin;
 * --quick uses the same count (fewer calls would measure axios cold again).
 *
 * Placement: each child is pinned right after spawn (fixtures/pin.ts, `BENCH_PIN`), for every
 * variant alike, when the machine is quiet as the group starts (`auto`): at c=1 the client and
 * server child share one core (a strict ping-pong: no cross-core wake-up per message); at c=64
 * they are not pinned (no placement measured tighter there). Unpinned at c=1 the scheduler put
 * the pair on one core or on both from one measurement to the next and the rows were bimodal
 * (~4.9 k or ~7.3 k calls/s for the same build). The group's last row (`method: …`) records the
 * placement; fixtures/pin.ts has the measurements behind the choice.
 *
 * Values are medians of the repeats (5, or 1 with --quick) of calls/s and p50/p99 latency (ms);
 * the ratio rows compare resilient-rpc's calls/s with each baseline (goals: ≥ 0.9× axios fastest,
 * ≥ 1.3× axios defaults; p99 ≤ 1.2× the node:http row's).
 */
import { Agent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient, createServer } from '@resilient-rpc/core';
import type { ChildHandle } from '@resilient-rpc/testkit';
import { httpListener, httpTransport } from '@resilient-rpc/transport-http';
import axios from 'axios';
import { spawnBenchChild } from './fixtures/bench-child.js';
import { busyCores, type PinPlan, pin, pinPlan } from './fixtures/pin.js';
import { closedLoop, type LoopEnd, measuredSamples, median, type Sample } from './fixtures/stats.js';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

interface Variant {
  readonly name: string;
  call(i: number): Promise<unknown>;
  close(): Promise<void>;
}

const PAYLOAD = { greeting: 'hello', numbers: [1, 2, 3], nested: { ok: true } };

/** With a directory (the profiling harness's BENCH_SERVER_PROF): a CPU profile of the server, written on SIGTERM. */
async function profileServer(directory: string | undefined): Promise<(() => Promise<void>) | undefined> {
  if (directory === undefined) return undefined;
  const { Session } = await import('node:inspector/promises');
  const { mkdir, writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(directory, { recursive: true });
    await writeFile(`${directory}/server-${process.pid}.cpuprofile`, JSON.stringify(profile));
  };
}

/** The child process: our listener, and a raw node:http echo server (to measure each side alone). */
async function serve(): Promise<void> {
  const { signalReady } = await import('@resilient-rpc/testkit');
  const stopProfile = await profileServer(process.env.BENCH_SERVER_PROF);
  const server = createServer({ methods: { echo: (params: unknown) => params } });
  // BENCH_HTTP_LISTENER=<another build's dist/index.js>: that build's listener (fixtures/p99-http.ts's A/B).
  const listen: typeof httpListener = process.env.BENCH_HTTP_LISTENER
    ? (await import(process.env.BENCH_HTTP_LISTENER)).httpListener
    : httpListener;
  const listener = await server.listen(listen({ port: 0 }));
  // What the profiling harness reads from GET /cpu: the child's CPU time, and the raw server's
  // POSTs and accepted connections (so that a run shows how many requests a call cost and on how
  // many sockets the client spread them).
  let posts = 0;
  let connections = 0;
  const raw = createHttpServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    if (req.method === 'POST') posts++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST') {
        // GET /health (the client's heartbeat), or GET /cpu (the profiling harness).
        const cpu = req.url === '/cpu' && { ...process.cpuUsage(), posts, connections };
        res.end(JSON.stringify(cpu || { status: 'serving' }));
        return;
      }
      const { id, params } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const body = JSON.stringify({ jsonrpc: '2.0', id, result: params });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  raw.on('connection', () => connections++);
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const { port } = raw.address() as AddressInfo;
  process.once('SIGTERM', async () => {
    await stopProfile?.();
    process.exit(0);
  });
  signalReady({ url: listener.urls[0], rawUrl: `http://127.0.0.1:${port}/rpc` });
}

export function resilientClient(url: string, throughAxios = false, transport = httpTransport()) {
  // An interceptor on the transport's own instance makes every request run axios's whole
  // pipeline (the path taken whenever a user customises the instance).
  if (throughAxios) transport.axios.interceptors.request.use((config) => config);
  return createClient({
    transports: [transport],
    endpoints: [url],
    deadlineMs: 10_000,
    retry: { maxAttempts: 3 },
    retryBudget: {},
    circuitBreaker: {},
    outlierDetection: {},
    heartbeat: {},
    stallDetection: {},
    hedging: true,
    balancer: 'p2c-peak-ewma',
  });
}

function rawClient(url: string, agent: Agent): (body: string) => Promise<unknown> {
  const target = new URL(url);
  return (body: string) =>
    new Promise<unknown>((resolve, reject) => {
      const req = httpRequest(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** The rows, in the order they are measured (rotated each repeat). */
export const VARIANT_NAMES = [
  'resilient-rpc',
  'resilient-rpc through axios pipeline (an interceptor installed)',
  'axios defaults',
  'axios fastest',
  'node:http',
  'resilient-rpc client → raw server',
  'node:http client → raw server',
] as const;
export type VariantName = (typeof VARIANT_NAMES)[number];

const message = (i: number) => ({ jsonrpc: '2.0', id: i, method: 'echo', params: PAYLOAD });

/** One compared client, and only it: against our listener (`url`) or, for the per-side rows, the raw echo server (`rawUrl`). */
export function createVariant(
  name: VariantName,
  url: string,
  rawUrl: string,
  transport: () => ReturnType<typeof httpTransport> = httpTransport,
): Variant {
  const resilientVariant = (client: ReturnType<typeof resilientClient>): Variant => ({
    name,
    call: () => client.call('echo', PAYLOAD, { idempotent: true }),
    close: () => client.close(),
  });
  const rawVariant = (target: string): Variant => {
    const agent = new Agent({ keepAlive: true });
    const raw = rawClient(target, agent);
    return { name, call: (i) => raw(JSON.stringify(message(i))), close: async () => agent.destroy() };
  };
  switch (name) {
    case 'resilient-rpc':
      return resilientVariant(resilientClient(url, false, transport()));
    case 'resilient-rpc through axios pipeline (an interceptor installed)':
      return resilientVariant(resilientClient(url, true, transport()));
    case 'resilient-rpc client → raw server':
      return resilientVariant(resilientClient(rawUrl, false, transport()));
    case 'node:http':
      return rawVariant(url);
    case 'node:http client → raw server':
      return rawVariant(rawUrl);
    case 'axios defaults': {
      const agent = new Agent({ keepAlive: true });
      const client = axios.create({ httpAgent: agent });
      return {
        name,
        call: async (i) => (await client.post(url, message(i))).data,
        close: async () => agent.destroy(),
      };
    }
    case 'axios fastest': {
      const agent = new Agent({ keepAlive: true });
      const identity = [(data: unknown) => data];
      const client = axios.create({
        httpAgent: agent,
        maxRedirects: 0,
        proxy: false,
        responseType: 'text',
        transformRequest: identity,
        transformResponse: identity,
        validateStatus: () => true,
        headers: { 'content-type': 'application/json' },
      });
      return {
        name,
        call: async (i) => JSON.parse((await client.post(url, JSON.stringify(message(i)))).data as string),
        close: async () => agent.destroy(),
      };
    }
  }
}

/** Every variant in one process (the profiling fixtures' A/B in one process; the benchmark itself never does this). */
export function variants(url: string, rawUrl: string): Variant[] {
  return VARIANT_NAMES.map((name) => createVariant(name, url, rawUrl));
}

/** The server child: our listener and the raw echo server, run like this process (see spawnBenchChild). */
export function spawnServer(env: Record<string, string> = {}) {
  return spawnBenchChild<{ url: string; rawUrl: string }>(fileURLToPath(import.meta.url), {
    ...env,
    RESILIENT_RPC_HTTP_BENCH_SERVER: '1',
  });
}

/**
 * The warm-up of every measurement: a closed loop until this many calls were answered and at
 * least this long (at most `maxMs`). By call count, not by time: see the file header.
 */
export const WARMUP: LoopEnd = { minCalls: 10_000, minMs: 1_000, maxMs: 60_000 };
const QUICK_WARMUP: LoopEnd = { minCalls: 10_000, minMs: 300, maxMs: 30_000 };

/** Repeats of every variant at each concurrency (1 with --quick). */
export const REPEATS = 5;

export interface Measurement {
  variant: VariantName;
  concurrency: number;
  warmup: LoopEnd;
  durationMs: number;
  /** Another build's transport-http dist/index.js: its httpTransport for our client (fixtures/p99-http.ts). */
  transportModule?: string;
}

/** The client child: one variant's client, a warm-up, one measured closed loop; prints `READY {warmup, sample}`. */
async function measureChild(job: Measurement & { url: string; rawUrl: string }): Promise<void> {
  const { signalReady } = await import('@resilient-rpc/testkit');
  const transport: typeof httpTransport | undefined =
    job.transportModule === undefined ? undefined : (await import(job.transportModule)).httpTransport;
  const variant = createVariant(job.variant, job.url, job.rawUrl, transport);
  const warmup = await closedLoop((i) => variant.call(i), job.concurrency, job.warmup);
  const sample = await closedLoop((i) => variant.call(i), job.concurrency, job.durationMs);
  await variant.close();
  signalReady({ warmup, sample });
}

const withoutMs = ({ ms: _, ...sample }: Sample & { ms?: number }): Sample => sample;

/** Children that should have been pinned, and how many of them taskset failed on (for the method row). */
const pinned = { wanted: 0, failed: 0 };
const countPin = (wanted: boolean, ok: boolean) => {
  if (!wanted) return;
  pinned.wanted++;
  if (!ok) pinned.failed++;
};

/**
 * One measurement: a fresh server child, a fresh client child with only `job.variant`'s client;
 * both gone after. Each child is pinned right after spawn as `plan` says (fixtures/pin.ts).
 */
export async function measureOnce(
  job: Measurement,
  plan: PinPlan = pinPlan(),
  serverEnv: Record<string, string> = {},
): Promise<Sample> {
  const placement = plan.at(job.concurrency);
  const server = spawnServer(serverEnv);
  countPin(placement !== undefined, pin(server.pid, placement?.server));
  let client: ChildHandle<{ warmup: Sample & { ms: number }; sample: Sample }> | undefined;
  try {
    const urls = await server.ready;
    client = spawnBenchChild(fileURLToPath(import.meta.url), {
      RESILIENT_RPC_HTTP_BENCH_CLIENT: JSON.stringify({ ...job, ...urls }),
    });
    countPin(placement !== undefined, pin(client.pid, placement?.client));
    const { warmup, sample } = await client.ready;
    // The record keeps every closed loop (as closedLoop does in-process): the warm-up, then the measurement.
    measuredSamples.push(
      { ...withoutMs(warmup), concurrency: job.concurrency, durationMs: Math.round(warmup.ms) },
      { ...withoutMs(sample), concurrency: job.concurrency, durationMs: job.durationMs },
    );
    return sample;
  } finally {
    await Promise.all([client?.kill('SIGKILL'), server.kill('SIGKILL')]);
  }
}

export async function run(options: { quick: boolean }): Promise<BenchResult[]> {
  const repeats = options.quick ? 1 : REPEATS;
  const durationMs = options.quick ? 1_000 : 3_000;
  const warmup = options.quick ? QUICK_WARMUP : WARMUP;
  const plan = pinPlan(undefined, await busyCores());
  pinned.wanted = pinned.failed = 0;
  const results: BenchResult[] = [];
  for (const concurrency of [1, 64]) {
    const samples = new Map<string, Sample[]>(VARIANT_NAMES.map((name) => [name, []]));
    for (let repeat = 0; repeat < repeats; repeat++) {
      // Rotate the order so that no variant always runs first or last.
      for (let k = 0; k < VARIANT_NAMES.length; k++) {
        const variant = VARIANT_NAMES[(k + repeat) % VARIANT_NAMES.length]!;
        samples.get(variant)!.push(await measureOnce({ variant, concurrency, warmup, durationMs }, plan));
      }
    }
    const throughput = new Map<string, number>();
    const p99 = new Map<string, number>();
    for (const name of VARIANT_NAMES) {
      const runs = samples.get(name)!;
      const callsPerSecond = median(runs.map((s) => s.callsPerSecond));
      throughput.set(name, callsPerSecond);
      p99.set(name, median(runs.map((s) => s.p99)));
      results.push({
        group: 'http',
        name: `c=${concurrency} ${name}`,
        values: {
          'calls/s': Math.round(callsPerSecond),
          'p50 ms': median(runs.map((s) => s.p50)),
          'p99 ms': median(runs.map((s) => s.p99)),
          errors: runs.reduce((sum, s) => sum + s.errors, 0),
          repeats: runs.length,
        },
      });
    }
    const ours = throughput.get('resilient-rpc')!;
    results.push({
      group: 'http',
      name: `c=${concurrency} ratio resilient-rpc ÷ baseline (calls/s)`,
      values: {
        'axios defaults (goal ≥ 1.3)': ours / throughput.get('axios defaults')!,
        'axios fastest (goal ≥ 0.9)': ours / throughput.get('axios fastest')!,
        'node:http': ours / throughput.get('node:http')!,
        'p99 ÷ node:http p99 (goal ≤ 1.2)': p99.get('resilient-rpc')! / p99.get('node:http')!,
        'through axios pipeline ÷ axios defaults':
          throughput.get('resilient-rpc through axios pipeline (an interceptor installed)')! /
          throughput.get('axios defaults')!,
        server: 'child process',
      },
    });
    // Each side alone: our client vs the raw client (both against the raw echo server), and our
    // listener vs the raw echo server (both called by the raw client).
    results.push({
      group: 'http',
      name: `c=${concurrency} ratio per side (calls/s)`,
      values: {
        'client: resilient-rpc ÷ node:http (raw server)':
          throughput.get('resilient-rpc client → raw server')! /
          throughput.get('node:http client → raw server')!,
        'server: our listener ÷ raw server (node:http client)':
          throughput.get('node:http')! / throughput.get('node:http client → raw server')!,
      },
    });
  }
  const placement =
    pinned.failed > 0
      ? `processes NOT pinned: taskset failed on ${pinned.failed} of ${pinned.wanted} children`
      : plan.note;
  results.push({
    group: 'http',
    name: `method: per concurrency ${repeats} repeat(s) of every variant (order rotated), each a fresh server child and client child, warm-up ≥ ${warmup.minCalls} calls and ≥ ${warmup.minMs} ms, one ${durationMs} ms closed loop; medians of the repeats; ${placement}`,
    values: {},
  });
  return results;
}

if (process.env.RESILIENT_RPC_HTTP_BENCH_SERVER === '1') await serve();
else if (process.env.RESILIENT_RPC_HTTP_BENCH_CLIENT !== undefined) {
  await measureChild(JSON.parse(process.env.RESILIENT_RPC_HTTP_BENCH_CLIENT));
  process.exit(0);
}
