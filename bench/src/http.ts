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
 * Values are medians of the repeats (3, or 1 with --quick) of calls/s and p50/p99 latency (ms);
 * the ratio rows compare resilient-rpc's calls/s with each baseline (goals: ≥ 0.9× axios fastest,
 * ≥ 1.3× axios defaults; p99 ≤ 1.2× the node:http row's).
 */
import { Agent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient, createServer } from '@resilient-rpc/core';
import { spawnScript } from '@resilient-rpc/testkit';
import { httpListener, httpTransport } from '@resilient-rpc/transport-http';
import axios from 'axios';
import { closedLoop, median, type Sample } from './fixtures/stats.js';

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
  const listener = await server.listen(httpListener({ port: 0 }));
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

/** The compared clients against our listener (`url`), then each side alone against a raw echo server (`rawUrl`). */
export function variants(url: string, rawUrl: string): Variant[] {
  const resilient = resilientClient(url);
  const resilientToRaw = resilientClient(rawUrl);
  const resilientThroughAxios = resilientClient(url, true);

  const defaultsAgent = new Agent({ keepAlive: true });
  const axiosDefaults = axios.create({ httpAgent: defaultsAgent });

  const fastestAgent = new Agent({ keepAlive: true });
  const identity = [(data: unknown) => data];
  const axiosFastest = axios.create({
    httpAgent: fastestAgent,
    maxRedirects: 0,
    proxy: false,
    responseType: 'text',
    transformRequest: identity,
    transformResponse: identity,
    validateStatus: () => true,
    headers: { 'content-type': 'application/json' },
  });

  const rawAgent = new Agent({ keepAlive: true });
  const raw = rawClient(url, rawAgent);
  const rawToRaw = rawClient(rawUrl, rawAgent);

  const message = (i: number) => ({ jsonrpc: '2.0', id: i, method: 'echo', params: PAYLOAD });
  return [
    {
      name: 'resilient-rpc',
      call: () => resilient.call('echo', PAYLOAD, { idempotent: true }),
      close: () => resilient.close(),
    },
    {
      name: 'resilient-rpc through axios pipeline (an interceptor installed)',
      call: () => resilientThroughAxios.call('echo', PAYLOAD, { idempotent: true }),
      close: () => resilientThroughAxios.close(),
    },
    {
      name: 'axios defaults',
      call: async (i) => (await axiosDefaults.post(url, message(i))).data,
      close: async () => defaultsAgent.destroy(),
    },
    {
      name: 'axios fastest',
      call: async (i) =>
        JSON.parse((await axiosFastest.post(url, JSON.stringify(message(i)))).data as string),
      close: async () => fastestAgent.destroy(),
    },
    {
      name: 'node:http',
      call: (i) => raw(JSON.stringify(message(i))),
      close: async () => rawAgent.destroy(),
    },
    {
      name: 'resilient-rpc client → raw server',
      call: () => resilientToRaw.call('echo', PAYLOAD, { idempotent: true }),
      close: () => resilientToRaw.close(),
    },
    {
      name: 'node:http client → raw server',
      call: (i) => rawToRaw(JSON.stringify(message(i))),
      close: async () => {},
    },
  ];
}

export async function run(options: { quick: boolean }): Promise<BenchResult[]> {
  const repeats = options.quick ? 1 : 3;
  const durationMs = options.quick ? 1_000 : 3_000;
  const warmupMs = options.quick ? 300 : 1_000;
  const child = spawnScript<{ url: string; rawUrl: string }>(fileURLToPath(import.meta.url), {
    env: { RESILIENT_RPC_HTTP_BENCH_SERVER: '1' },
  });
  const results: BenchResult[] = [];
  try {
    const { url, rawUrl } = await child.ready;
    const all = variants(url, rawUrl);
    for (const concurrency of [1, 64]) {
      const samples = new Map<string, Sample[]>(all.map((variant) => [variant.name, []]));
      for (const variant of all) await closedLoop((i) => variant.call(i), concurrency, warmupMs);
      for (let repeat = 0; repeat < repeats; repeat++) {
        // Rotate the order so that no variant always runs first or last.
        for (let k = 0; k < all.length; k++) {
          const variant = all[(k + repeat) % all.length]!;
          samples.get(variant.name)!.push(await closedLoop((i) => variant.call(i), concurrency, durationMs));
        }
      }
      const throughput = new Map<string, number>();
      const p99 = new Map<string, number>();
      for (const variant of all) {
        const runs = samples.get(variant.name)!;
        const callsPerSecond = median(runs.map((s) => s.callsPerSecond));
        throughput.set(variant.name, callsPerSecond);
        p99.set(variant.name, median(runs.map((s) => s.p99)));
        results.push({
          group: 'http',
          name: `c=${concurrency} ${variant.name}`,
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
    await Promise.all(all.map((variant) => variant.close()));
  } finally {
    await child.kill('SIGKILL');
  }
  return results;
}

if (process.env.RESILIENT_RPC_HTTP_BENCH_SERVER === '1') await serve();
