/**
 * NATS scale-out: throughput of one service subject served by 1, 2, 4 and 8 instances (child
 * processes, one queue group, discovery on), and the share of it kept while one instance hangs
 * (SIGSTOP).
 *
 * Work is latency-bound, as in the recovery group: each call holds one of an instance's 4 work
 * slots for 10 ms (a pool of database connections, say), so one instance serves at most ~400
 * calls/s and throughput can only grow by adding instances. The caller runs 64 closed loops of
 * idempotent calls at default client settings, always more than the instances' slots.
 *
 * Per row, for the discovered instances (each its own endpoint) and for the queue group as one
 * endpoint (`discovery: false`, the broker spreads): calls/s; then one instance SIGSTOPped: calls/s
 * in the following window as a share of the pre-fault rate (ideal: (n − 1) / n, more where the
 * machine, not the instances, was the limit), failed calls and calls over 1 s in that window.
 */
import { createClient, type RpcClient } from '@resilient-rpc/core';
import {
  type ChildHandle,
  type NatsServerHandle,
  spawnScript,
  startNatsServer,
} from '@resilient-rpc/testkit';
import { natsTransport } from '@resilient-rpc/transport-nats';
import { round, sleep } from './fixtures/stats.js';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

const CONCURRENCY = 64;
const WORK_MS = 10;
const WORK_SLOTS = 4;
const fixture = new URL('./fixtures/nats-instance.ts', import.meta.url).pathname;

interface CallRecord {
  end: number;
  ok: boolean;
  durationMs: number;
}

/** Closed loops until stopped; each call's end time, outcome and duration. */
function closedLoops(client: RpcClient) {
  const records: CallRecord[] = [];
  let running = true;
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (running) {
      const start = performance.now();
      let ok = true;
      try {
        await client.call('work', [], { idempotent: true });
      } catch {
        ok = false;
      }
      const end = performance.now();
      records.push({ end, ok, durationMs: end - start });
    }
  });
  return {
    records,
    rate(from: number, to: number): number {
      const done = records.filter((record) => record.ok && record.end >= from && record.end < to).length;
      return done / ((to - from) / 1000);
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Measured {
  /** Calls/s before the fault. */
  rate: number;
  /** Calls/s in the window after one instance hung, as a % of `rate` (when one was hung). */
  kept: number | string;
  failed: number | string;
  slow: number | string;
}

/** Warm-up, a steady-state rate, then (with `hang`) one instance SIGSTOPped for a window and resumed. */
async function measure(
  client: RpcClient,
  hang: ChildHandle | undefined,
  count: number,
  quick: boolean,
): Promise<Measured> {
  const warmMs = quick ? 1_000 : 2_000;
  const measureMs = quick ? 2_000 : 4_000;
  const windowMs = quick ? 3_000 : 5_000;
  const loops = closedLoops(client);
  try {
    await sleep(warmMs);
    const start = performance.now();
    await sleep(measureMs);
    const faultAt = performance.now();
    const rate = loops.rate(start, faultAt);
    if (hang === undefined || count < 2) return { rate, kept: '', failed: '', slow: '' };
    hang.stop();
    await sleep(windowMs);
    const windowEnd = performance.now();
    hang.resume();
    await loops.stop();
    const inWindow = loops.records.filter((record) => record.end >= faultAt);
    return {
      rate,
      kept: round((loops.rate(faultAt, windowEnd) / rate) * 100, 0),
      failed: inWindow.filter((record) => !record.ok).length,
      slow: inWindow.filter((record) => record.durationMs > 1_000).length,
    };
  } finally {
    await loops.stop();
  }
}

async function measureRow(
  broker: NatsServerHandle,
  count: number,
  seq: number,
  quick: boolean,
): Promise<Record<string, number | string>> {
  const subject = `bench.scale.${process.pid}.${seq}`;
  const instances: Array<ChildHandle<{ instanceSubject: string }>> = Array.from({ length: count }, (_, i) =>
    spawnScript<{ instanceSubject: string }>(fixture, {
      env: {
        NATS_URL: broker.url,
        NATS_SUBJECT: subject,
        INSTANCE: `i${i}`,
        WORK_MS: String(WORK_MS),
        WORK_SLOTS: String(WORK_SLOTS),
      },
      readyTimeoutMs: 60_000,
    }),
  );
  const clients: RpcClient[] = [];
  try {
    await Promise.all(instances.map((instance) => instance.ready));
    const url = `${broker.url}/${subject}`;
    // The queue group as one endpoint first (the instances are all fresh and answering).
    const grouped = createClient({ transports: [natsTransport({ discovery: false })], endpoints: [url] });
    clients.push(grouped);
    const group = await measure(grouped, count >= 2 ? instances[0] : undefined, count, quick);
    await grouped.close();
    await sleep(1_000); // the resumed instance works off what queued up while it hung

    const client = createClient({ transports: [natsTransport()], endpoints: [url] });
    clients.push(client);
    await waitUntil(
      () => client.endpoints.length === count && !client.endpoints.includes(url),
      'discovery',
      10_000,
    );
    const discovered = await measure(client, count >= 2 ? instances[0] : undefined, count, quick);
    const values: Record<string, number | string> = {
      'discovered calls/s': round(discovered.rate, 0),
      'queue group calls/s': round(group.rate, 0),
      'capacity calls/s': round((count * WORK_SLOTS * 1000) / WORK_MS, 0),
    };
    if (count >= 2) {
      values['hang: ideal %'] = round(((count - 1) / count) * 100, 0);
      values['hang: discovered kept %'] = discovered.kept;
      values['hang: discovered failed'] = discovered.failed;
      values['hang: discovered > 1 s'] = discovered.slow;
      values['hang: queue group kept %'] = group.kept;
      values['hang: queue group failed'] = group.failed;
      values['hang: queue group > 1 s'] = group.slow;
    }
    return values;
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await Promise.all(instances.map((instance) => instance.kill('SIGKILL')));
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const broker = await startNatsServer();
  const rows: BenchResult[] = [];
  let seq = 0;
  try {
    for (const count of [1, 2, 4, 8]) {
      const name = `${count} instance${count === 1 ? '' : 's'} on one subject`;
      try {
        const values = await measureRow(broker, count, ++seq, quick);
        rows.push({ group: 'nats-scale', name, values });
        console.error(`nats-scale: ${name}: ${JSON.stringify(values)}`);
      } catch (error) {
        rows.push({
          group: 'nats-scale',
          name,
          values: { error: error instanceof Error ? error.message : String(error) },
        });
      }
    }
  } finally {
    await broker.kill();
  }
  rows.push({
    group: 'nats-scale',
    name: `method: ${CONCURRENCY} closed loops of idempotent calls, each holding one of ${WORK_SLOTS} work slots of an instance for ${WORK_MS} ms; one broker; hang window ${quick ? 3 : 5} s`,
    values: {},
  });
  return rows;
}
