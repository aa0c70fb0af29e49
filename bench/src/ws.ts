/**
 * WebSocket echo benchmark: resilient-rpc (wsTransport + wsListener, the client's default
 * policies on: deadline, retry + budget, p2c peak-EWMA, breaker, outlier detection, heartbeat,
 * stall detection) against a raw `ws` JSON-RPC request/response echo (one socket, ids matched in
 * a Map, no policies), in the same run, at concurrency 1 and 64; a third row runs the transport
 * alone (WsConnection.send, no client policies) to show where overhead sits. Reports calls/s and p50/p99
 * latency (ms) as medians of the repeats, and the throughput ratio (goal ≥ 0.9×).
 */
import { createClient, createServer, defaultRandom, systemClock } from '@resilient-rpc/core';
import { wsListener, wsTransport } from '@resilient-rpc/transport-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { closedLoop, median, type Sample } from './fixtures/stats.js';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

type Call = () => Promise<unknown>;

interface Target {
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

/**
 * The transport alone: a WsConnection against the wsListener + core server, without the client's
 * policies (for locating overhead: transport vs client pipeline).
 */
export async function transportOnlyTarget(): Promise<Target> {
  const server = createServer({ methods: { echo: (params: unknown) => params } });
  const listener = await server.listen(wsListener({ port: 0 }));
  const transport = wsTransport();
  const connection = transport.connect(listener.urls[0]!, { clock: systemClock, random: defaultRandom });
  const signal = new AbortController().signal;
  let nextId = 1;
  return {
    name: 'ws transport only',
    call: () =>
      connection.send(
        { jsonrpc: '2.0', method: 'echo', params: PAYLOAD, id: nextId++ },
        { signal, timeoutMs: 10_000, metadata: { deadlineMs: 10_000, idempotent: true, attempt: 1 } },
      ),
    async close() {
      await connection.close();
      await server.close();
    },
  };
}

/** The baseline: a hand-written JSON-RPC echo over one `ws` socket. */
export async function rawWsTarget(): Promise<Target> {
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
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
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
    name: 'raw ws',
    call: () =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: PAYLOAD, id }));
      }),
    async close() {
      socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** The WebSocket benchmark group. `quick`: shorter runs, one repeat. */
export async function run(options: { quick: boolean }): Promise<BenchResult[]> {
  const durationMs = options.quick ? 1_000 : 3_000;
  const repeats = options.quick ? 1 : 3;
  const targets: Target[] = [];
  const results: BenchResult[] = [];
  try {
    targets.push(await resilientRpcTarget(), await transportOnlyTarget(), await rawWsTarget());
    for (const target of targets) await closedLoop(target.call, 16, options.quick ? 300 : 1_000); // warm-up
    for (const concurrency of [1, 64]) {
      const samples = new Map<string, Sample[]>(targets.map((target) => [target.name, []]));
      for (let repeat = 0; repeat < repeats; repeat++) {
        // Alternate the targets' order between repeats so that machine drift hits all alike.
        const order = repeat % 2 === 0 ? targets : [...targets].reverse();
        for (const target of order)
          samples.get(target.name)!.push(await closedLoop(target.call, concurrency, durationMs));
      }
      const summary = new Map<string, Sample>();
      for (const [name, list] of samples) {
        summary.set(name, {
          callsPerSecond: median(list.map((sample) => sample.callsPerSecond)),
          p50: median(list.map((sample) => sample.p50)),
          p99: median(list.map((sample) => sample.p99)),
          errors: list.reduce((sum, sample) => sum + sample.errors, 0),
        });
        const figures = summary.get(name)!;
        results.push({
          group: 'ws',
          name: `echo c=${concurrency} ${name}`,
          values: {
            'calls/s': Math.round(figures.callsPerSecond),
            'p50 ms': Number(figures.p50.toFixed(3)),
            'p99 ms': Number(figures.p99.toFixed(3)),
            errors: figures.errors,
            repeats,
          },
        });
      }
      const raw = summary.get('raw ws');
      for (const name of ['resilient-rpc', 'ws transport only']) {
        const ours = summary.get(name);
        if (!ours || !raw) continue;
        results.push({
          group: 'ws',
          name: `echo c=${concurrency} ratio ${name}`,
          values: {
            'calls/s vs raw ws': Number((ours.callsPerSecond / raw.callsPerSecond).toFixed(2)),
            'p50 vs raw ws': Number((ours.p50 / raw.p50).toFixed(2)),
            goal: name === 'resilient-rpc' ? '>= 0.9' : '',
          },
        });
      }
    }
  } finally {
    for (const target of targets) await target.close().catch(() => {});
  }
  return results;
}
