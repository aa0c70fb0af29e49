/**
 * Policy overhead: the whole client pipeline on the in-memory transport vs a bare client vs
 * cockatiel (retry + timeout + circuit breaker) around the same no-op call, all measured side by
 * side in one process, interleaved, repeated; each figure is the median of the repeats.
 *
 * Transports: `stub` (a zero-cost connection, 1 endpoint), `stub-3` (the same, 3 endpoints) and
 * `memory` (2 endpoints). The issue 15 budget: all policies at defaults ≤ 1 000 ns and ≤ 1 000 B
 * over the raw send with 1 endpoint, ≤ 1 300 ns with 3.
 *
 * Rows:
 * - `raw send`: `connection.send` on a memory connection (the transport's own cost: JSON
 *   encode, the core server's dispatch, JSON parse) — the floor every other row pays too;
 * - `bare client`: createClient with every policy off (the deadline cannot be turned off);
 * - `all policies, heartbeat off|on`: deadline, retry + budget, breaker, outlier detection,
 *   stall detection, p2c peak-EWMA;
 * - `cockatiel`: wrap(retry(maxAttempts 2, i.e. up to 3 tries, exponential backoff),
 *   circuitBreaker(consecutive 5), timeout(10 s, cooperative)) around the raw send.
 *
 * ns/call: sequential calls (await each), wall time / calls. bytes/call: heapUsed growth over a
 * batch of 2 000 calls started right after a full GC (the child's young generation is raised to
 * 64 MiB so that no scavenge runs inside the batch; batches where the heap shrank are discarded),
 * median per call.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ClientConnection,
  type ClientOptions,
  type ClientTransport,
  createClient,
  createServer,
  type JsonRpcRequest,
  type RpcClient,
  systemClock,
} from '@resilient-rpc/core';
import { MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { fullGc, median, round } from './fixtures/stats.js';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

type Call = () => Promise<unknown>;

interface Variant {
  /** `stub` (1 endpoint), `stub-3` (3 endpoints) or `memory` (2 endpoints). */
  transport: string;
  kind: 'raw' | 'bare' | 'full' | 'full-hb' | 'cockatiel';
  name: string;
  call: Call;
  close?: () => Promise<void>;
}

const OFF: Partial<ClientOptions> = {
  retry: false,
  retryBudget: false,
  circuitBreaker: false,
  outlierDetection: false,
  heartbeat: false,
  stallDetection: false,
  hedging: false,
  bulkhead: false,
  balancer: 'round-robin',
};

/**
 * A transport whose connection answers every call at once with `result` (default `null`), without JSON or a server:
 * it isolates the pipeline's own cost from the transport's (the memory transport's JSON round trip
 * and server dispatch cost tens of µs on a loaded machine, which would drown a 1 µs difference).
 */
export function stubTransport(result: unknown = null): ClientTransport {
  return {
    name: 'stub',
    schemes: ['stub'],
    connect(url) {
      return {
        url,
        capabilities: { batch: false, ping: false, persistentConnection: false },
        status: 'open',
        send: (request) => Promise.resolve({ jsonrpc: '2.0', id: request.id ?? null, result }),
        onEvent: () => () => {},
        close: async () => {},
      } satisfies ClientConnection;
    },
  };
}

/** Builds the variants: the same five shapes over a stub connection and over the memory transport. */
export async function policyVariants(): Promise<{ variants: Variant[]; close(): Promise<void> }> {
  const network = new MemoryNetwork();
  const server = createServer({ methods: { noop: () => null } });
  await server.listen(network.listener('a'));
  await server.listen(network.listener('b'));
  const clients: RpcClient[] = [];
  const connections: ClientConnection[] = [];
  const neverAborts = new AbortController().signal;
  let id = 0;
  const variants: Variant[] = [];
  for (const [label, transport, endpoints] of [
    ['stub', stubTransport(), ['stub://a']],
    ['stub-3', stubTransport(), ['stub://a', 'stub://b', 'stub://c']],
    ['memory', memoryTransport(network), ['memory://a', 'memory://b']],
  ] as const) {
    const client = (options: Partial<ClientOptions>) => {
      const created = createClient({ transports: [transport], endpoints, ...options });
      clients.push(created);
      return created;
    };
    const connection = transport.connect(endpoints[0]!, { clock: systemClock, random: Math.random });
    connections.push(connection);
    const rawSend = (signal: AbortSignal) => {
      const request: JsonRpcRequest = { jsonrpc: '2.0', method: 'noop', id: ++id };
      return connection.send(request, { signal, timeoutMs: 10_000, metadata: { deadlineMs: 10_000 } });
    };
    const bare = client(OFF);
    const full = client({ heartbeat: false });
    const fullHeartbeat = client({});
    const cockatiel = wrap(
      retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
      circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
      timeout(10_000, TimeoutStrategy.Cooperative),
    );
    variants.push(
      {
        transport: label,
        kind: 'raw',
        name: `${label}: raw connection.send`,
        call: () => rawSend(neverAborts),
      },
      {
        transport: label,
        kind: 'bare',
        name: `${label}: bare client (policies off)`,
        call: () => bare.call('noop'),
      },
      {
        transport: label,
        kind: 'full',
        name: `${label}: all policies, heartbeat off`,
        call: () => full.call('noop'),
      },
      {
        transport: label,
        kind: 'full-hb',
        name: `${label}: all policies, heartbeat on`,
        call: () => fullHeartbeat.call('noop'),
      },
      {
        transport: label,
        kind: 'cockatiel',
        name: `${label}: cockatiel retry+breaker+timeout`,
        call: () => cockatiel.execute(({ signal }) => rawSend(signal)),
      },
    );
  }
  return {
    variants,
    async close() {
      await Promise.all(clients.map((each) => each.close()));
      await Promise.all(connections.map((each) => each.close()));
      await server.close();
    },
  };
}

async function timeCalls(call: Call, calls: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await call();
  return Number(process.hrtime.bigint() - t0) / calls;
}

async function bytesPerCall(call: Call, calls: number): Promise<number> {
  fullGc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < calls; i++) await call();
  const after = process.memoryUsage().heapUsed;
  return after >= before ? (after - before) / calls : Number.NaN;
}

/** Measures in this process (see {@link run} for why it runs in a child). */
export async function measure({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const { variants, close } = await policyVariants();
  const repeats = quick ? 5 : 11;
  const callsPerRun = quick ? 10_000 : 30_000;
  const allocCalls = 2_000;
  const warmCalls = 5_000;
  try {
    // Warm up every variant (JIT, inline caches, latency trackers).
    for (const variant of variants) await timeCalls(variant.call, 20_000);
    const ns = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
    const bytes = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
    for (let r = 0; r < repeats; r++) {
      // Rotate the order each repeat so drift in machine load spreads evenly.
      for (let k = 0; k < variants.length; k++) {
        const variant = variants[(k + r) % variants.length]!;
        // The bytes batch before this one forced a full GC with no call in flight, which can
        // throw away optimised code (cockatiel's does; the core keeps its shapes alive): warm up
        // again so every row is timed in its steady state, not while it recompiles.
        await timeCalls(variant.call, warmCalls);
        ns.get(variant.name)!.push(await timeCalls(variant.call, callsPerRun));
        bytes.get(variant.name)!.push(await bytesPerCall(variant.call, allocCalls));
      }
    }
    const series = (transport: string, kind: string) =>
      ns.get(variants.find((each) => each.transport === transport && each.kind === kind)!.name)!;
    const paired = (a: number[], b: number[], f: (x: number, y: number) => number) =>
      median(a.map((value, index) => f(value, b[index]!)));
    const rows: BenchResult[] = variants.map((variant) => {
      const own = ns.get(variant.name)!;
      return {
        group: 'policy',
        name: variant.name,
        values: {
          'ns/call': round(median(own), 0),
          'ns over raw send': round(
            paired(own, series(variant.transport, 'raw'), (x, y) => x - y),
            0,
          ),
          'ns over bare client': round(
            paired(own, series(variant.transport, 'bare'), (x, y) => x - y),
            0,
          ),
          'bytes/call': round(median(bytes.get(variant.name)!), 0),
        },
      };
    });
    for (const transport of ['stub', 'stub-3', 'memory']) {
      rows.push({
        group: 'policy',
        name: `${transport}: ratio all policies / cockatiel (ns/call)`,
        values: {
          'ns/call': round(
            paired(series(transport, 'full'), series(transport, 'cockatiel'), (x, y) => x / y),
            2,
          ),
        },
      });
    }
    rows.push({
      group: 'policy',
      name: `method: ${repeats} interleaved repeats × ${callsPerRun} sequential calls (each after ${warmCalls} warm-up calls), medians`,
      values: {},
    });
    return rows;
  } finally {
    await close();
  }
}

/**
 * Runs {@link measure} in a child process that resolves the workspace packages to their built
 * `dist/` (plain `tsc` output, as users run it). Under the bench's `@resilient-rpc/source`
 * condition tsx would compile the core on the fly with esbuild's keep-names helper, which wraps
 * every closure in a `__name()` call (`Object.defineProperty`) and by itself added about a fifth to
 * the pipeline's cost in a profile — a cost the published package does not have.
 */
export async function run({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const here = dirname(fileURLToPath(import.meta.url));
  const dist = join(here, '..', '..', 'packages', 'core', 'dist', 'index.js');
  const rows: BenchResult[] = [];
  try {
    const built = statSync(dist).mtimeMs;
    const newest = newestMtime(join(here, '..', '..', 'packages', 'core', 'src'));
    if (newest > built) {
      rows.push({
        group: 'policy',
        name: 'warning: packages/core/dist is older than its sources (run `pnpm bench`, which builds first)',
        values: {},
      });
    }
  } catch {
    throw new Error('packages/core/dist is missing: run `pnpm bench` (it builds first) or `pnpm build`');
  }
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--max-semi-space-size=64',
      '--import',
      'tsx',
      join(here, 'fixtures', 'policy-child.ts'),
      quick ? 'quick' : 'full',
    ],
    {
      cwd: join(here, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TSX_TSCONFIG_PATH: join(here, 'fixtures', 'tsconfig.dist.json') },
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the policy benchmark child exited with ${code}`);
  const line = output.split('\n').find((each) => each.startsWith('RESULT '));
  if (line === undefined) throw new Error('the policy benchmark child printed no RESULT line');
  return [...rows, ...(JSON.parse(line.slice(7)) as BenchResult[])];
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
