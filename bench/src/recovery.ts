/**
 * Recovery, side by side with the anchors in one run.
 *
 * Two replicas in child processes, one caller in this process running a closed loop at
 * concurrency 8 (every call `echo`, which costs the replica REPLICA_DELAY_MS of non-CPU work). After
 * a warm-up and a pre-fault window, replica A is SIGKILLed — or, with fresh processes, SIGSTOPped
 * (hung with its sockets open) — and the loop runs on through the fault window.
 *
 * Systems:
 * - resilient-rpc over HTTP, WS and NATS at default settings (echo declared idempotent, as any
 *   idempotent method would be; without that a call lost in a crash may not be retried), with and
 *   without hedging (`hedging: true`: delay = the endpoint set's p95);
 * - Moleculer 0.15 over NATS: its defaults (heartbeat 10 s / timeout 30 s) and 1 s / 3 s heartbeats,
 *   with retries on (3) and a 2 s request timeout;
 * - a naive axios client: round-robin over the two HTTP replicas, 3 retries, 2 s timeout.
 *
 * Per row: time to detection (the first time at or after the fault that the caller marks A
 * unhealthy: resilient-rpc `endpoint-state` leaving healthy, Moleculer `$node.disconnected`; axios
 * never detects; a mark before the fault does not count), calls/s in the fault window as a share
 * of pre-fault calls/s (whole window, first second, worst second), p99 latency of the calls in
 * flight during the window, failed calls and calls slower than 1 s among them.
 *
 * Filter rows with BENCH_RECOVERY_FILTER=substring; BENCH_RECOVERY_REPEATS=n runs per row (default 3, 1
 * with --quick). Rates, shares and latencies are medians of the runs; failed calls, slow calls and
 * calls are summed over the runs (a failure in one run is never hidden by a median), detection is
 * the worst run's; every run's figures are kept in the row's `repeats` (the bench record).
 */

import { Agent } from 'node:http';
import { type ClientTransport, createClient } from '@resilient-rpc/core';
import {
  type ChildHandle,
  type NatsServerHandle,
  spawnScript,
  startNatsServer,
} from '@resilient-rpc/testkit';
import { httpTransport } from '@resilient-rpc/transport-http';
import { natsTransport } from '@resilient-rpc/transport-nats';
import { wsTransport } from '@resilient-rpc/transport-ws';
import axios from 'axios';
import { ServiceBroker } from 'moleculer';
import { median, percentile, round, sleep } from './fixtures/stats.js';

export type BenchResult = {
  group: string;
  name: string;
  values: Record<string, number | string>;
  repeats?: Array<Record<string, number | string | null>>;
};

const CONCURRENCY = 8;
const DELAY_MS = 5;
const fixtures = new URL('./fixtures/', import.meta.url).pathname;

type Fault = 'SIGKILL' | 'SIGSTOP';

interface Caller {
  call(): Promise<unknown>;
  /**
   * The first time at or after `faultAt` (performance.now()) that the caller marked the faulty
   * replica unhealthy, if it did: an earlier, spurious mark is not a detection of this fault.
   */
  detectedAfter(faultAt: number): number | undefined;
  close(): Promise<void>;
}

interface Setup {
  /** Replica A (the one faulted) and B. */
  replicas: [ChildHandle, ChildHandle];
  caller: Caller;
}

interface Scenario {
  name: string;
  setup(): Promise<Setup>;
}

interface Measured {
  detectionMs: number;
  share: number;
  firstSecondShare: number;
  worstSecondShare: number;
  preRate: number;
  p99: number;
  failed: number;
  slow: number;
  calls: number;
}

let natsServer: NatsServerHandle | undefined;
let runSeq = 0;

function spawnReplica(env: Record<string, string>): ChildHandle<{ urls: string[] }> {
  return spawnScript<{ urls: string[] }>(`${fixtures}replica.ts`, {
    env: { REPLICA_DELAY_MS: String(DELAY_MS), ...env },
    readyTimeoutMs: 60_000,
  });
}

async function twoReplicas(
  transport: 'http' | 'ws' | 'nats',
): Promise<{ replicas: [ChildHandle, ChildHandle]; urls: string[] }> {
  const seq = ++runSeq;
  const make = (name: string) =>
    spawnReplica({
      REPLICA_TRANSPORTS: transport,
      ...(natsServer && { REPLICA_NATS_URL: natsServer.url }),
      REPLICA_SUBJECT: `bench.recovery.${seq}.${name}`,
    });
  const replicas: [ChildHandle<{ urls: string[] }>, ChildHandle<{ urls: string[] }>] = [make('a'), make('b')];
  try {
    const infos = await Promise.all(replicas.map((replica) => replica.ready));
    return { replicas, urls: infos.map((info) => info.urls[0]!) };
  } catch (error) {
    await Promise.all(replicas.map((replica) => replica.kill()));
    throw error;
  }
}

function resilientScenario(transport: 'http' | 'ws' | 'nats', hedge: boolean): Scenario {
  return {
    name: `resilient-rpc ${transport}${hedge ? ' + hedging' : ''}`,
    async setup() {
      const { replicas, urls } = await twoReplicas(transport);
      const clientTransport: ClientTransport =
        transport === 'http' ? httpTransport() : transport === 'ws' ? wsTransport() : natsTransport();
      const client = createClient({
        transports: [clientTransport],
        endpoints: urls,
        methods: { echo: { idempotent: true, hedge } },
        ...(hedge && { hedging: true }),
      });
      const marks: number[] = [];
      client.on('endpoint-state', (event) => {
        if (event.endpoint === urls[0] && event.to !== 'healthy' && event.to !== 'probing')
          marks.push(performance.now());
      });
      const params = { message: 'hello', n: 42 };
      return {
        replicas,
        caller: {
          call: () => client.call('echo', params),
          detectedAfter: (faultAt) => marks.find((at) => at >= faultAt),
          close: () => client.close(),
        },
      };
    },
  };
}

function moleculerScenario(heartbeat: { interval: number; timeout: number } | undefined): Scenario {
  return {
    name: `Moleculer NATS, ${heartbeat ? `heartbeat ${heartbeat.interval} s / ${heartbeat.timeout} s` : 'default heartbeat (10 s / 30 s)'}`,
    async setup() {
      const seq = ++runSeq;
      const env = {
        MOL_NATS_URL: natsServer!.url,
        REPLICA_DELAY_MS: String(DELAY_MS),
        ...(heartbeat && {
          MOL_HEARTBEAT_INTERVAL: String(heartbeat.interval),
          MOL_HEARTBEAT_TIMEOUT: String(heartbeat.timeout),
        }),
      };
      const ids = [`a-${seq}`, `b-${seq}`];
      const replicas = ids.map((id) =>
        spawnScript(`${fixtures}moleculer-replica.ts`, {
          env: { ...env, MOL_NODE_ID: id },
          readyTimeoutMs: 60_000,
        }),
      ) as [ChildHandle, ChildHandle];
      try {
        await Promise.all(replicas.map((replica) => replica.ready));
      } catch (error) {
        await Promise.all(replicas.map((replica) => replica.kill()));
        throw error;
      }
      const marks: number[] = [];
      const broker = new ServiceBroker({
        nodeID: `caller-${seq}`,
        transporter: { type: 'NATS', options: { url: natsServer!.url } },
        logger: false,
        requestTimeout: 2_000,
        retryPolicy: { enabled: true, retries: 3 },
        ...(heartbeat && { heartbeatInterval: heartbeat.interval, heartbeatTimeout: heartbeat.timeout }),
      });
      await broker.start();
      // `$node.*` events reach the local bus (a service's handler misses nodes found at start).
      (
        broker as unknown as {
          localBus: { on(name: string, fn: (payload: { node: { id: string } }) => void): void };
        }
      ).localBus.on('$node.disconnected', (payload) => {
        if (payload.node.id === ids[0]) marks.push(performance.now());
      });
      const available = () =>
        (
          broker.registry.getNodeList({ onlyAvailable: true, withServices: false }) as Array<{ id: string }>
        ).map((node) => node.id);
      const until = Date.now() + 30_000;
      while (!ids.every((id) => available().includes(id))) {
        if (Date.now() > until) throw new Error('Moleculer caller did not discover both replicas');
        await sleep(50);
      }
      await broker.waitForServices('echo');
      const params = { message: 'hello', n: 42 };
      return {
        replicas,
        caller: {
          call: () => broker.call('echo.echo', params),
          detectedAfter: (faultAt) => marks.find((at) => at >= faultAt),
          close: () => broker.stop(),
        },
      };
    },
  };
}

function naiveAxiosScenario(): Scenario {
  return {
    name: 'naive axios (round-robin, 3 retries, 2 s timeout)',
    async setup() {
      const { replicas, urls } = await twoReplicas('http');
      const instance = axios.create({
        timeout: 2_000,
        httpAgent: new Agent({ keepAlive: true }),
        headers: { 'content-type': 'application/json' },
      });
      let next = 0;
      let id = 0;
      const call = async () => {
        let lastError: unknown;
        for (let attempt = 0; attempt <= 3; attempt++) {
          const url = urls[next++ % urls.length]!;
          try {
            const response = await instance.post(url, {
              jsonrpc: '2.0',
              method: 'echo',
              params: { message: 'hello', n: 42 },
              id: ++id,
            });
            if (response.data?.error) throw new Error(response.data.error.message);
            return response.data.result;
          } catch (error) {
            lastError = error;
          }
        }
        throw lastError;
      };
      return { replicas, caller: { call, detectedAfter: () => undefined, close: async () => {} } };
    },
  };
}

interface CallRecord {
  start: number;
  end: number;
  ok: boolean;
}

async function runOnce(scenario: Scenario, fault: Fault, quick: boolean): Promise<Measured> {
  const warmMs = quick ? 1_000 : 2_000;
  const preMs = quick ? 2_000 : 3_000;
  const windowMs = quick ? 5_000 : 8_000;
  const { replicas, caller } = await scenario.setup();
  try {
    const records: CallRecord[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        const start = performance.now();
        let ok = true;
        try {
          await caller.call();
        } catch {
          ok = false;
        }
        records.push({ start, end: performance.now(), ok });
      }
    };
    const workers = Array.from({ length: CONCURRENCY }, worker);
    await sleep(warmMs + preMs);
    const faultAt = performance.now();
    if (fault === 'SIGKILL') void replicas[0].kill('SIGKILL');
    else replicas[0].stop();
    await sleep(windowMs);
    const windowEnd = faultAt + windowMs;
    running = false;
    await Promise.all(workers);

    const okIn = (from: number, to: number) =>
      records.filter((record) => record.ok && record.end >= from && record.end < to).length;
    const preRate = okIn(faultAt - preMs, faultAt) / (preMs / 1000);
    const seconds: number[] = [];
    for (let t = faultAt; t + 1000 <= windowEnd + 1; t += 1000) seconds.push(okIn(t, t + 1000));
    const inWindow = records.filter((record) => record.end >= faultAt && record.start < windowEnd);
    const detected = caller.detectedAfter(faultAt);
    return {
      detectionMs: detected === undefined ? Number.POSITIVE_INFINITY : detected - faultAt,
      preRate,
      share: okIn(faultAt, windowEnd) / (windowMs / 1000) / preRate,
      firstSecondShare: (seconds[0] ?? 0) / preRate,
      worstSecondShare: Math.min(...seconds) / preRate,
      p99: percentile(
        inWindow.map((record) => record.end - record.start),
        99,
      ),
      failed: inWindow.filter((record) => !record.ok).length,
      slow: inWindow.filter((record) => record.end - record.start > 1_000).length,
      calls: inWindow.length,
    };
  } finally {
    await caller.close().catch(() => {});
    await Promise.all(replicas.map((replica) => replica.kill('SIGKILL')));
  }
}

/** The worst run's detection: "not within …" if any run did not detect the fault. */
function detectionText(values: number[], windowMs: number): number | string {
  if (values.some((each) => !Number.isFinite(each))) {
    const missed = values.filter((each) => !Number.isFinite(each)).length;
    return values.length === 1
      ? `not within ${windowMs / 1000} s`
      : `${missed}/${values.length} runs: not within ${windowMs / 1000} s`;
  }
  return round(Math.max(...values), 0);
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

export async function run({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const repeats = Number(process.env.BENCH_RECOVERY_REPEATS ?? (quick ? 1 : 3));
  const filter = process.env.BENCH_RECOVERY_FILTER;
  const windowMs = quick ? 5_000 : 8_000;
  const scenarios: Scenario[] = [
    resilientScenario('http', false),
    resilientScenario('http', true),
    resilientScenario('ws', false),
    resilientScenario('ws', true),
    resilientScenario('nats', false),
    resilientScenario('nats', true),
    moleculerScenario(undefined),
    moleculerScenario({ interval: 1, timeout: 3 }),
    naiveAxiosScenario(),
  ];
  natsServer = await startNatsServer();
  const rows: BenchResult[] = [];
  try {
    for (const fault of ['SIGKILL', 'SIGSTOP'] as const) {
      for (const scenario of scenarios) {
        const name = `${fault === 'SIGKILL' ? 'crash (SIGKILL)' : 'hang (SIGSTOP)'}: ${scenario.name}`;
        if (filter && !name.includes(filter)) continue;
        const results: Measured[] = [];
        try {
          for (let r = 0; r < repeats; r++) results.push(await runOnce(scenario, fault, quick));
        } catch (error) {
          rows.push({
            group: 'recovery',
            name,
            values: { error: error instanceof Error ? error.message : String(error) },
          });
          continue;
        }
        const pick = (key: keyof Measured) => median(results.map((each) => each[key]));
        const total = (key: keyof Measured) => sum(results.map((each) => each[key]));
        const row: BenchResult = {
          group: 'recovery',
          name,
          values: {
            'detection ms (worst run)': detectionText(
              results.map((each) => each.detectionMs),
              windowMs,
            ),
            'pre-fault calls/s': round(pick('preRate'), 0),
            'window share %': round(pick('share') * 100, 0),
            '1st s share %': round(pick('firstSecondShare') * 100, 0),
            'worst s share %': round(pick('worstSecondShare') * 100, 0),
            'p99 ms': round(pick('p99'), 0),
            'failed (sum)': total('failed'),
            '> 1 s (sum)': total('slow'),
            'calls (sum)': total('calls'),
            runs: results.length,
          },
          // Every run, as measured (a detection that did not come is null).
          repeats: results.map((each) => ({
            ...each,
            detectionMs: Number.isFinite(each.detectionMs) ? round(each.detectionMs, 1) : null,
          })),
        };
        rows.push(row);
        console.error(`recovery: ${name}: ${JSON.stringify(row.values)}`);
      }
    }
  } finally {
    await natsServer.kill();
    natsServer = undefined;
  }
  rows.push({
    group: 'recovery',
    name: `method: concurrency ${CONCURRENCY}, echo costs ${DELAY_MS} ms on the replica, fault window ${windowMs / 1000} s, ${repeats} run(s) per row (rates and latencies: medians; failed, > 1 s, calls: sums; detection: worst run)`,
    values: {},
  });
  return rows;
}
