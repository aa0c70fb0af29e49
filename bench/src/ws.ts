/**
 * WebSocket echo benchmark: resilient-rpc (wsTransport + wsListener, the client's default
 * policies on: deadline, retry + budget, p2c peak-EWMA, breaker, outlier detection, heartbeat,
 * stall detection) against a raw `ws` JSON-RPC request/response echo (one socket, ids matched in
 * a Map, no policies), in the same process, at concurrency 1 and 64; a third target runs the
 * transport alone (WsConnection.send, no client policies) to show where overhead sits. The three
 * run in many short interleaved slices (see {@link run}); the rows report calls/s and p50/p99
 * latency (ms) and the ratios to raw ws as medians over the rounds (goals: calls/s ≥ 0.9× at
 * c = 1 and 64, p99 ≤ 1.2× at c = 64).
 */
import { setMaxListeners } from 'node:events';
import { createRequire } from 'node:module';
import { createClient, createServer, defaultRandom, systemClock } from '@resilient-rpc/core';
import { wsListener, wsTransport } from '@resilient-rpc/transport-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { runIfMain } from './fixtures/main.js';
import { callersFor, median, percentile } from './fixtures/stats.js';
import type { BenchResult } from './markdown.js';

/**
 * Whether the `ws` module every target uses masks and unmasks frames with `bufferutil` (the
 * WebSocket transport's optional native dependency) or in JavaScript: ws loads it unless
 * `WS_NO_BUFFER_UTIL` is set, and the three targets share the one module, so all get the same.
 */
function frameMasking(): string {
  if (process.env.WS_NO_BUFFER_UTIL) return 'frame masking in JavaScript (WS_NO_BUFFER_UTIL set)';
  try {
    createRequire(createRequire(import.meta.url).resolve('ws'))('bufferutil');
    return 'frame masking by bufferutil for every target';
  } catch {
    return 'frame masking in JavaScript (bufferutil not installed)';
  }
}

export type { BenchResult } from './markdown.js';

type Call = () => Promise<unknown>;

export interface Target {
  name: string;
  call: Call;
  close(): Promise<void>;
}

const PAYLOAD = { message: 'hello', n: 42 };

export async function resilientRpcTarget(): Promise<Target> {
  const server = createServer({ methods: { echo: (params: unknown) => params } });
  const listener = await server.listen(wsListener({ port: 0 }));
  const transport = wsTransport();
  const client = createClient({ transports: [transport], endpoints: listener.urls });
  return {
    name: 'resilient-rpc',
    call: () => client.call('echo', PAYLOAD, { idempotent: true }),
    async close() {
      await client.close();
      await transport.close?.();
      await server.close();
    },
  };
}

/** A WebSocket echo server: its URL and how to stop it. */
export interface EchoServer {
  url: string;
  close(): Promise<void>;
}

/** What our targets are built from: the workspace's build, or a saved one (src/fixtures/ab-ws.ts). */
export interface OurBuild {
  createServer: typeof createServer;
  wsListener: typeof wsListener;
  wsTransport: typeof wsTransport;
  systemClock: typeof systemClock;
  defaultRandom: typeof defaultRandom;
}

const workspace: OurBuild = { createServer, wsListener, wsTransport, systemClock, defaultRandom };

/** Our server: the core server with one `echo` method on a wsListener. */
export async function ourWsServer(build: OurBuild = workspace): Promise<EchoServer> {
  const server = build.createServer({ methods: { echo: (params: unknown) => params } });
  const listener = await server.listen(build.wsListener({ port: 0 }));
  return { url: listener.urls[0]!, close: () => server.close() };
}

/** The raw server: a `ws` server that parses each request and answers its params. */
export async function rawWsServer(): Promise<EchoServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const request = JSON.parse(data.toString()) as { id: number; params: unknown };
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: request.params }));
    });
  });
  const address = wss.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}/rpc`,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

/** Our transport alone: a WsConnection, without the client's policies. */
export function transportClient(url: string, build: OurBuild = workspace): Pick<Target, 'call' | 'close'> {
  const connection = build
    .wsTransport()
    .connect(url, { clock: build.systemClock, random: build.defaultRandom });
  const signal = new AbortController().signal;
  setMaxListeners(0, signal); // shared by every call: calls waiting > 10 ms listen to it
  let nextId = 1;
  return {
    call: () =>
      connection.send(
        { jsonrpc: '2.0', method: 'echo', params: PAYLOAD, id: nextId++ },
        { signal, timeoutMs: 10_000, metadata: { deadlineMs: 10_000, idempotent: true, attempt: 1 } },
      ),
    close: () => connection.close(),
  };
}

/** The raw benchmark's request. */
const rawRequest = (id: number) => JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: PAYLOAD, id });

/** The raw client: one `ws` socket, ids matched in a Map; `encode` writes the request of an id. */
export async function rawWsClient(
  url: string,
  encode: (id: number) => string = rawRequest,
): Promise<Pick<Target, 'call' | 'close'>> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const waiting = new Map<number, (result: unknown) => void>();
  socket.on('message', (data) => {
    const response = JSON.parse(data.toString()) as { id: number; result: unknown };
    const resolve = waiting.get(response.id);
    waiting.delete(response.id);
    resolve?.(response.result);
  });
  let nextId = 1;
  return {
    call: () =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        socket.send(encode(id));
      }),
    async close() {
      socket.terminate();
    },
  };
}

/** `client` against `server`, as one target. */
async function pair(
  name: string,
  server: Promise<EchoServer>,
  client: (url: string) => Pick<Target, 'call' | 'close'> | Promise<Pick<Target, 'call' | 'close'>>,
): Promise<Target> {
  const echo = await server;
  const { call, close } = await client(echo.url);
  return {
    name,
    call,
    async close() {
      await close();
      await echo.close();
    },
  };
}

/**
 * The transport alone: a WsConnection against the wsListener + core server, without the client's
 * policies (for locating overhead: transport vs client pipeline).
 */
export const transportOnlyTarget = (): Promise<Target> =>
  pair('ws transport only', ourWsServer(), transportClient);

/** The baseline: a hand-written JSON-RPC echo over one `ws` socket. */
export const rawWsTarget = (): Promise<Target> => pair('raw ws', rawWsServer(), rawWsClient);

/** Per side (not in the group; src/fixtures/compare-ws.ts): the raw client against our server. */
export const rawClientOurServerTarget = (): Promise<Target> =>
  pair('raw client, our server', ourWsServer(), rawWsClient);

/** Per side (not in the group; src/fixtures/compare-ws.ts): our transport against the raw server. */
export const transportRawServerTarget = (): Promise<Target> =>
  pair('our transport, raw server', rawWsServer(), transportClient);

/** Calls, time and latencies of one target over one round (its slices together). */
interface Tally {
  ms: number;
  errors: number;
  /** Latencies of the round's successful calls, ms (the array is reused from round to round). */
  latencies: number[];
}

/** One round's figures of one target. */
interface RoundFigures {
  callsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** One slice: `concurrency` closed-loop callers of `call` for `durationMs`, added to `tally`. */
async function slice(call: Call, concurrency: number, durationMs: number, tally: Tally): Promise<void> {
  const { errors, ms } = await callersFor(call, concurrency, durationMs, tally.latencies);
  tally.errors += errors;
  tally.ms += ms;
}

/**
 * The order of the targets in slice `index` of a round: rotated and reversed in turn, so that
 * over six slices three targets take every position and follow each other equally often (a
 * target that leaves garbage or a busy socket behind burdens each of the others alike).
 */
function orderOf<T>(items: readonly T[], index: number): T[] {
  const shift = Math.floor(index / 2) % items.length;
  const rotated = [...items.slice(shift), ...items.slice(0, shift)];
  return index % 2 === 0 ? rotated : rotated.reverse();
}

const figuresOf = (tally: Tally): RoundFigures => ({
  callsPerSecond: (tally.latencies.length * 1000) / tally.ms,
  p50: percentile(tally.latencies, 50),
  p99: percentile(tally.latencies, 99),
  errors: tally.errors,
});

const RAW = 'raw ws';
const OURS = ['resilient-rpc', 'ws transport only'] as const;

/**
 * The WebSocket benchmark group. Per concurrency, `rounds` rounds; each round runs every target
 * in `slicesPerRound` short slices, interleaved (ABC CBA BCA ACB CAB BAC), so that machine drift
 * and noise within a round hit the three alike. Each round gives each target its calls/s, p50 and
 * p99 (over its slices together) and each ratio to raw ws; the rows report the median over the
 * rounds of each figure and of each ratio (a ratio per round, so that a noisy round moves a
 * ratio once, not its numerator and denominator apart). Every round's figures are in the rows'
 * `repeats`. `quick`: fewer and shorter slices.
 */
export async function run(options: { quick: boolean }): Promise<BenchResult[]> {
  const rounds = options.quick ? 4 : 10;
  const slicesPerRound = 6;
  const sliceMs = options.quick ? 40 : 100;
  const targets: Target[] = [];
  const results: BenchResult[] = [];
  try {
    targets.push(await resilientRpcTarget(), await transportOnlyTarget(), await rawWsTarget());
    const scratch: Tally = { ms: 0, errors: 0, latencies: [] };
    for (const target of targets) await slice(target.call, 16, options.quick ? 300 : 1_000, scratch); // warm-up
    for (const concurrency of [1, 64]) {
      const perRound = new Map<string, RoundFigures[]>(targets.map((target) => [target.name, []]));
      const tallies = new Map<string, Tally>(
        targets.map((target) => [target.name, { ms: 0, errors: 0, latencies: [] }]),
      );
      scratch.latencies.length = 0;
      for (const target of targets) await slice(target.call, concurrency, sliceMs, scratch); // settle at this concurrency
      for (let round = 0; round < rounds; round++) {
        for (const tally of tallies.values()) {
          tally.ms = tally.errors = 0;
          tally.latencies.length = 0;
        }
        for (let index = 0; index < slicesPerRound; index++)
          for (const target of orderOf(targets, round * slicesPerRound + index))
            await slice(target.call, concurrency, sliceMs, tallies.get(target.name)!);
        for (const target of targets) perRound.get(target.name)!.push(figuresOf(tallies.get(target.name)!));
      }
      for (const target of targets) {
        const list = perRound.get(target.name)!;
        results.push({
          group: 'ws',
          name: `echo c=${concurrency} ${target.name}`,
          values: {
            'calls/s': Math.round(median(list.map((figures) => figures.callsPerSecond))),
            'p50 ms': Number(median(list.map((figures) => figures.p50)).toFixed(3)),
            'p99 ms': Number(median(list.map((figures) => figures.p99)).toFixed(3)),
            errors: list.reduce((sum, figures) => sum + figures.errors, 0),
            rounds,
          },
          repeats: list.map((figures, round) => ({
            round,
            'calls/s': Math.round(figures.callsPerSecond),
            'p50 ms': Number(figures.p50.toFixed(4)),
            'p99 ms': Number(figures.p99.toFixed(4)),
            errors: figures.errors,
          })),
        });
      }
      const raw = perRound.get(RAW)!;
      for (const name of OURS) {
        const ours = perRound.get(name)!;
        const ratios = ours.map((figures, round) => ({
          round,
          'calls/s vs raw ws': figures.callsPerSecond / raw[round]!.callsPerSecond,
          'p50 vs raw ws': figures.p50 / raw[round]!.p50,
          'p99 vs raw ws': figures.p99 / raw[round]!.p99,
        }));
        const medianOf = (key: keyof (typeof ratios)[number]) =>
          Number(median(ratios.map((each) => each[key])).toFixed(2));
        results.push({
          group: 'ws',
          name: `echo c=${concurrency} ratio ${name}`,
          values: {
            'calls/s vs raw ws': medianOf('calls/s vs raw ws'),
            'p50 vs raw ws': medianOf('p50 vs raw ws'),
            'p99 vs raw ws': medianOf('p99 vs raw ws'),
            goal:
              name !== 'resilient-rpc'
                ? ''
                : concurrency === 1
                  ? 'calls/s >= 0.9'
                  : 'calls/s >= 0.9, p99 <= 1.2',
          },
          repeats: ratios.map((each) => ({
            round: each.round,
            'calls/s vs raw ws': Number(each['calls/s vs raw ws'].toFixed(3)),
            'p50 vs raw ws': Number(each['p50 vs raw ws'].toFixed(3)),
            'p99 vs raw ws': Number(each['p99 vs raw ws'].toFixed(3)),
          })),
        });
      }
    }
    results.push({
      group: 'ws',
      name: `method: per concurrency ${rounds} rounds × ${slicesPerRound} interleaved slices of ${sliceMs} ms per target; medians of the per-round figures and ratios; ${frameMasking()}`,
      values: {},
    });
  } finally {
    for (const target of targets) await target.close().catch(() => {});
  }
  return results;
}

// Run directly (prints the rows, writes no record):
//   cd bench && TSX_TSCONFIG_PATH=src/fixtures/tsconfig.dist.json node --import tsx src/ws.ts [--quick]
runIfMain(import.meta.url, run);
