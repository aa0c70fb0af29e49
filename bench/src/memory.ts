/**
 * Heap per in-flight call: 10 000 calls started against a replica that never answers, the heap
 * measured after a full GC before and while they are all in flight, divided by the count.
 *
 * - zero-cost stub transport (its connection keeps each pending call's resolver in an array and
 *   answers them all at the end; it never reads the attempt's signal), all policies at defaults —
 *   the client's own cost per pending call (issue 15 budget: ≤ 1 KB);
 * - memory transport, hung listener (`listener.hang()`: requests accepted, never delivered), all
 *   policies at defaults — the client's own cost per pending call;
 * - WebSocket to a replica in a child process whose `hang` method never answers (so only the
 *   client's heap is measured), all policies at defaults.
 *
 * Each figure is the median of the repeats; the calls are then cancelled and the heap checked again
 * (`retained after cancel`, per call: should be ≈ 0).
 */
import { setMaxListeners } from 'node:events';
import {
  type ClientConnection,
  type ClientTransport,
  createClient,
  createServer,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '@resilient-rpc/core';
import { MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { spawnScript } from '@resilient-rpc/testkit';
import { wsTransport } from '@resilient-rpc/transport-ws';
import { fullGc, median, round, sleep } from './fixtures/stats.js';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

const replicaScript = new URL('./fixtures/replica.ts', import.meta.url).pathname;

/** A transport whose connection answers nothing until `answerAll()`, and never reads the attempt's signal. */
function hungStubTransport(): ClientTransport & { answerAll(): void } {
  const pending: Array<(response: JsonRpcResponse) => void> = [];
  return {
    name: 'stub',
    schemes: ['stub'],
    connect(url) {
      return {
        url,
        capabilities: { batch: false, ping: false, persistentConnection: false },
        status: 'open',
        send: (request: JsonRpcRequest) =>
          new Promise<JsonRpcResponse>((resolve) => {
            pending.push(resolve);
            void request;
          }),
        onEvent: () => () => {},
        close: async () => {},
      } satisfies ClientConnection;
    },
    answerAll() {
      for (const resolve of pending.splice(0)) resolve({ jsonrpc: '2.0', id: null, result: null });
    },
  };
}

async function heapPerCall(
  transport: ClientTransport,
  url: string,
  method: string,
  inFlight: number,
  warmUp: boolean,
  end?: () => void,
): Promise<{ perCall: number; retained: number }> {
  const client = createClient({ transports: [transport], endpoints: [url], deadlineMs: 600_000 });
  try {
    if (warmUp) await client.call('echo', ['warm-up']); // opens the connection
    const cancel = new AbortController();
    setMaxListeners(0, cancel.signal); // one signal shared by every call
    fullGc();
    await sleep(50);
    fullGc();
    const before = process.memoryUsage().heapUsed;
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < inFlight; i++) {
      calls.push(
        (end ? client.call(method, [i]) : client.call(method, [i], { signal: cancel.signal })).catch(
          () => undefined,
        ),
      );
    }
    await sleep(200); // let the requests reach the socket
    fullGc();
    const during = process.memoryUsage().heapUsed;
    const stats = client.stats();
    if (stats.inFlight !== inFlight) throw new Error(`expected ${inFlight} in flight, saw ${stats.inFlight}`);
    if (end) end();
    else cancel.abort();
    await Promise.all(calls);
    calls.length = 0;
    await sleep(50);
    fullGc();
    const after = process.memoryUsage().heapUsed;
    return { perCall: (during - before) / inFlight, retained: (after - before) / inFlight };
  } finally {
    await client.close();
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const inFlight = 10_000;
  const repeats = quick ? 2 : 5;
  const rows: BenchResult[] = [];

  // Zero-cost stub, never answers until the end: the client's own cost.
  const stub: Array<{ perCall: number; retained: number }> = [];
  for (let r = 0; r < repeats; r++) {
    const transport = hungStubTransport();
    stub.push(
      await heapPerCall(transport, 'stub://hung', 'noop', inFlight, false, () => transport.answerAll()),
    );
  }
  rows.push({
    group: 'memory',
    name: `stub transport (zero cost), ${inFlight} in flight, all policies at defaults`,
    values: {
      'bytes/in-flight call': round(median(stub.map((each) => each.perCall)), 0),
      'retained after answer (bytes/call)': round(median(stub.map((each) => each.retained)), 0),
      repeats,
    },
  });

  // Memory transport, hung listener.
  const network = new MemoryNetwork();
  const server = createServer({ methods: { echo: (params: unknown) => params } });
  const listener = await server.listen(network.listener('hung'));
  const memory: Array<{ perCall: number; retained: number }> = [];
  for (let r = 0; r < repeats; r++) {
    listener.resume();
    const transport = memoryTransport(network);
    const probe = createClient({ transports: [transport], endpoints: ['memory://hung'] });
    await probe.call('echo', [1]);
    await probe.close();
    listener.hang();
    memory.push(await heapPerCall(transport, 'memory://hung', 'echo', inFlight, false));
  }
  await server.close();
  rows.push({
    group: 'memory',
    name: `memory transport, hung listener, ${inFlight} in flight`,
    values: {
      'bytes/in-flight call': round(median(memory.map((each) => each.perCall)), 0),
      'retained after cancel (bytes/call)': round(median(memory.map((each) => each.retained)), 0),
      repeats,
    },
  });

  // WebSocket to a child-process replica whose `hang` method never answers.
  const replica = spawnScript<{ urls: string[] }>(replicaScript, {
    env: { REPLICA_TRANSPORTS: 'ws' },
  });
  try {
    const { urls } = await replica.ready;
    const ws: Array<{ perCall: number; retained: number }> = [];
    for (let r = 0; r < repeats; r++) {
      ws.push(await heapPerCall(wsTransport(), urls[0]!, 'hang', inFlight, true));
    }
    rows.push({
      group: 'memory',
      name: `ws (replica in a child process), ${inFlight} in flight`,
      values: {
        'bytes/in-flight call': round(median(ws.map((each) => each.perCall)), 0),
        'retained after cancel (bytes/call)': round(median(ws.map((each) => each.retained)), 0),
        repeats,
      },
    });
  } finally {
    await replica.kill('SIGKILL');
  }
  return rows;
}
