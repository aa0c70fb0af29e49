/**
 * The server side alone, through each transport: the server process's CPU time per request for
 * our listener (listener + `dispatcher.dispatch`, a synchronous `echo`) and for a raw echo server
 * on the same library (node:http, `ws`, nats.js) that parses the request and stringifies its
 * answer, the floor any JSON-RPC server on that transport pays. `over raw` is what our listener
 * and dispatcher add per request (issue 16: the server side measured apart from the client's).
 *
 * Every server runs in one child process; the same raw client (node:http keep-alive agent, one
 * `ws` socket with ids matched by hand, nats.js `request`) drives each at a fixed concurrency,
 * and the child's CPU time (user + system, /proc/<pid>/stat) over the run is divided by the
 * requests. CPU time rather than wall time, so that other processes on a loaded machine do not
 * count; variants rotate order each repeat, and the figure is the median of the repeats.
 */
import { readFileSync } from 'node:fs';
import { Agent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createServer } from '@resilient-rpc/core';
import { signalReady, spawnScript, startNatsServer } from '@resilient-rpc/testkit';
import { httpListener } from '@resilient-rpc/transport-http';
import { natsListener } from '@resilient-rpc/transport-nats';
import { wsListener } from '@resilient-rpc/transport-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { median, round } from './fixtures/stats.js';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

type Transport = 'http' | 'ws' | 'nats';
type Variant = 'ours' | 'raw';
type Endpoints = Record<Transport, Record<Variant, string>>;

const CONCURRENCY = 16;
const SERVER_FLAG = 'RESILIENT_RPC_LISTENERS_BENCH_SERVER';
const message = (id: number) => `{"jsonrpc":"2.0","method":"echo","params":[1,"two",{"three":3}],"id":${id}}`;

/** The raw server's whole job: parse, answer with the params, stringify. */
function rawAnswer(text: string): string {
  const request = JSON.parse(text) as { id: number; params: unknown };
  return JSON.stringify({ jsonrpc: '2.0', id: request.id, result: request.params });
}

async function serve(): Promise<void> {
  const natsUrl = process.env.LISTENERS_NATS_URL!;
  const server = createServer({ maxInFlight: 50_000, methods: { echo: (params: unknown) => params } });
  const [http, ws] = await Promise.all([
    server.listen(httpListener({ port: 0 })),
    server.listen(wsListener({ port: 0 })),
    server.listen(natsListener({ servers: natsUrl, subject: 'bench.listeners.ours', service: false })),
  ]);
  const rawHttp = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = rawAnswer(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => rawHttp.listen(0, '127.0.0.1', resolve));
  const rawWs = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve) => rawWs.once('listening', resolve));
  rawWs.on('connection', (socket) => socket.on('message', (data) => socket.send(rawAnswer(data.toString()))));
  const nc = await connect({ servers: natsUrl });
  const decoder = new TextDecoder();
  nc.subscribe('bench.listeners.raw', {
    callback: (error, msg) => {
      if (error === null) msg.respond(rawAnswer(decoder.decode(msg.data)));
    },
  });
  await nc.flush();
  const port = (target: { address(): unknown }) => (target.address() as AddressInfo).port;
  signalReady({
    http: { ours: http.urls[0]!, raw: `http://127.0.0.1:${port(rawHttp)}/rpc` },
    ws: { ours: ws.urls[0]!, raw: `ws://127.0.0.1:${port(rawWs)}` },
    nats: { ours: 'bench.listeners.ours', raw: 'bench.listeners.raw' },
  } satisfies Endpoints);
}

/** CPU time (user + system) of a process, ms, from /proc: 10 ms resolution, so runs are long. */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the line (utime, stime), counted after the command name; ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A caller of one endpoint: `call(i)` sends request `i` and resolves with the answer's text. */
interface Caller {
  call(id: number): Promise<string>;
  close(): Promise<void>;
}

function httpCaller(url: string): Caller {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const { hostname, port, pathname } = new URL(url);
  return {
    call: (id) =>
      new Promise((resolve, reject) => {
        const body = message(id);
        const req = httpRequest(
          {
            agent,
            hostname,
            port,
            path: pathname,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: async () => agent.destroy(),
  };
}

async function wsCaller(url: string): Promise<Caller> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const pending = new Map<number, (text: string) => void>();
  socket.on('message', (data) => {
    const text = data.toString();
    const id = (JSON.parse(text) as { id: number }).id;
    pending.get(id)?.(text);
    pending.delete(id);
  });
  return {
    call: (id) =>
      new Promise((resolve) => {
        pending.set(id, resolve);
        socket.send(message(id));
      }),
    close: async () => socket.close(),
  };
}

function natsCaller(nc: NatsConnection, subject: string): Caller {
  return {
    call: async (id) => (await nc.request(subject, message(id), { timeout: 10_000 })).string(),
    close: async () => {},
  };
}

/** Sends `count` requests, `CONCURRENCY` at a time. */
async function drive(caller: Caller, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const id = next++;
      const answer = await caller.call(id);
      if (!answer.includes('"result"')) throw new Error(`unexpected answer: ${answer}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Runs the group: one row per transport (the server CPU per request, ours and raw). */
export async function run({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const count = quick ? 5_000 : 20_000;
  const repeats = quick ? 3 : 5;
  const broker = await startNatsServer();
  const child = spawnScript<Endpoints>(fileURLToPath(import.meta.url), {
    env: { [SERVER_FLAG]: '1', LISTENERS_NATS_URL: broker.url },
  });
  const nc = await connect({ servers: broker.url });
  const results: BenchResult[] = [];
  try {
    const endpoints = await child.ready;
    for (const transport of ['http', 'ws', 'nats'] as const) {
      const callers: Record<Variant, Caller> = {
        ours: await callerFor(transport, endpoints[transport].ours, nc),
        raw: await callerFor(transport, endpoints[transport].raw, nc),
      };
      const perRequestUs: Record<Variant, number[]> = { ours: [], raw: [] };
      for (const variant of ['ours', 'raw'] as const) await drive(callers[variant], count / 4);
      for (let repeat = 0; repeat < repeats; repeat++) {
        const order: Variant[] = repeat % 2 === 0 ? ['ours', 'raw'] : ['raw', 'ours'];
        for (const variant of order) {
          const before = cpuMsOf(child.pid);
          await drive(callers[variant], count);
          perRequestUs[variant].push(((cpuMsOf(child.pid) - before) * 1_000) / count);
        }
      }
      for (const caller of Object.values(callers)) await caller.close();
      const ours = median(perRequestUs.ours);
      const raw = median(perRequestUs.raw);
      results.push({
        group: 'listeners',
        name: `${transport} server, c=${CONCURRENCY}`,
        values: {
          'raw echo server CPU (µs/request)': round(raw),
          'listener + dispatch CPU (µs/request)': round(ours),
          'over raw (µs/request)': round(ours - raw),
          'ours / raw': round(ours / raw),
        },
      });
    }
  } finally {
    await nc.close();
    await child.kill();
    await broker.kill(); // not stop(): that is SIGSTOP, and left the broker behind, hung
  }
  return results;
}

async function callerFor(transport: Transport, endpoint: string, nc: NatsConnection): Promise<Caller> {
  if (transport === 'http') return httpCaller(endpoint);
  if (transport === 'ws') return wsCaller(endpoint);
  return natsCaller(nc, endpoint);
}

if (process.env[SERVER_FLAG] === '1') await serve();
