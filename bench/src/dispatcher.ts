/**
 * The server's per-request cost: `dispatcher.dispatch(text, context)` (size check, parse,
 * validation, admission, handler, serialisation, status) against `JSON.parse` + `JSON.stringify`
 * of the same message, the floor any JSON-RPC server pays. Goal (issue 16): ≤ 2 µs over it.
 *
 * Rows, each on a core server with defaults and a synchronous `echo` handler:
 * - `request`: one request with positional params;
 * - `request with deadline`: the same with `rpc-deadline-ms` metadata (one clock read, the
 *   deadline checks);
 * - `request, handler reads signal`: the handler takes `context.signal` (an AbortSignal per
 *   request, timed by the server's one shared deadline timer: the dearest path, which is why the
 *   signal is created only when a handler reads it);
 * - `reference: handler makes its own AbortSignal`: not the server's cost, the floor under the
 *   previous row: the handler of `request with deadline` plus `new AbortController().signal`, and
 *   no goal. On Node 20 that one AbortSignal (its creation and its garbage) is most of the
 *   previous row;
 * - `async handler`: the handler returns a promise;
 * - `notification`: nothing to send back;
 * - `batch of 10`: per message of 10 requests;
 * - `bytes in`: the request as UTF-8 bytes (the decode is the dispatcher's).
 *
 * ns: per message; `over, per request` divides the difference by the requests in the message.
 * Sequential dispatches (await each), the process's CPU time / dispatches (CPU time rather than
 * wall time, so that other processes on a loaded machine do not count); baseline and dispatcher loops
 * are interleaved in every repeat, and `over` is the median of the per-repeat differences, so
 * that load drifting during the run hits both alike.
 */
import { createServer, type Dispatcher, type IncomingContext } from '@resilient-rpc/core';
import { median, round } from './fixtures/stats.js';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

const GOAL_NS = 2_000;

interface Case {
  name: string;
  message: string | Uint8Array;
  /** The message the baseline parses and stringifies. */
  text: string;
  context: IncomingContext;
  /** Requests in the message (the goal is per request). */
  requests: number;
  /** A reference row: what the handler does, not the server; no goal. */
  reference?: boolean;
}

const request = (method: string, id: number) =>
  JSON.stringify({ jsonrpc: '2.0', method, params: [1, 'two', { three: 3 }], id });

function cases(): Case[] {
  const plain: IncomingContext = { transport: 'bench', metadata: {} };
  const withDeadline: IncomingContext = { transport: 'bench', metadata: { deadlineMs: 5_000 } };
  const single = request('echo', 12345);
  const batch = `[${Array.from({ length: 10 }, (_, id) => request('echo', id)).join(',')}]`;
  const notification = JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: [1, 'two', { three: 3 }] });
  return [
    { name: 'request', message: single, text: single, context: plain, requests: 1 },
    { name: 'request with deadline', message: single, text: single, context: withDeadline, requests: 1 },
    {
      name: 'request, handler reads signal',
      message: request('signal', 1),
      text: request('signal', 1),
      context: withDeadline,
      requests: 1,
    },
    {
      name: 'reference: handler makes its own AbortSignal',
      message: request('ownSignal', 1),
      text: request('ownSignal', 1),
      context: withDeadline,
      requests: 1,
      reference: true,
    },
    {
      name: 'async handler',
      message: request('later', 1),
      text: request('later', 1),
      context: plain,
      requests: 1,
    },
    { name: 'notification', message: notification, text: notification, context: plain, requests: 1 },
    { name: 'batch of 10', message: batch, text: batch, context: plain, requests: 10 },
    {
      name: 'bytes in',
      message: new TextEncoder().encode(single),
      text: single,
      context: plain,
      requests: 1,
    },
  ];
}

/** CPU time of this process in ms: unlike wall time, it does not count time other processes had the CPU. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function baseline(text: string, count: number): number {
  let sink = 0;
  const started = cpuMs();
  for (let index = 0; index < count; index++) sink += JSON.stringify(JSON.parse(text)).length;
  const elapsed = cpuMs() - started;
  if (sink === 0) throw new Error('unreachable');
  return (elapsed * 1e6) / count;
}

async function dispatched(dispatcher: Dispatcher, item: Case, count: number): Promise<number> {
  let sink = 0;
  const started = cpuMs();
  for (let index = 0; index < count; index++) {
    const result = await dispatcher.dispatch(item.message, item.context);
    sink += result.body?.length ?? 1;
  }
  const elapsed = cpuMs() - started;
  if (sink === 0) throw new Error('unreachable');
  return (elapsed * 1e6) / count;
}

export async function run({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const count = quick ? 20_000 : 100_000;
  const repeats = quick ? 5 : 11;
  const server = createServer({
    methods: {
      echo: (params) => params,
      signal: (params, context) => (context.signal.aborted ? null : params),
      ownSignal: (params) => (new AbortController().signal.aborted ? null : params),
      later: async (params) => params,
    },
  });
  const rows: BenchResult[] = [];
  for (const item of cases()) {
    baseline(item.text, count / 4);
    await dispatched(server.dispatcher, item, count / 4);
    const base: number[] = [];
    const ours: number[] = [];
    const over: number[] = [];
    for (let repeat = 0; repeat < repeats; repeat++) {
      const b = baseline(item.text, count);
      const d = await dispatched(server.dispatcher, item, count);
      base.push(b);
      ours.push(d);
      over.push(d - b);
    }
    const overNs = median(over) / item.requests;
    rows.push({
      group: 'dispatcher',
      name: item.name,
      values: {
        'JSON.parse + stringify (ns)': round(median(base)),
        'dispatch (ns)': round(median(ours)),
        'over, per request (ns)': round(overNs),
        'goal (ns)': item.reference ? '' : GOAL_NS,
        'meets goal': item.reference ? '' : overNs <= GOAL_NS ? 'yes' : 'no',
      },
    });
  }
  await server.close();
  return rows;
}
