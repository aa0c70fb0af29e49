/**
 * Evidence (issue 10): at-most-once execution and single settlement under chaos. Three HTTP replicas in child processes
 * are killed (SIGKILL), hung (SIGSTOP, later SIGCONT) and restarted at random (seeded: CHAOS_SEED)
 * while a client calls a non-idempotent method and an idempotent one with unique keys.
 * - every call settles once (one settlement, one `call` event), with a value or a typed RpcError;
 * - a non-idempotent call never executes twice on the servers (execution logs written
 *   synchronously by the replicas, so they survive SIGKILL);
 * - nothing is left pending.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, RpcError, seededRandom } from '@resilient-rpc/core';
import { type ChildHandle, freePort, spawnScript } from '@resilient-rpc/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { httpTransport } from '../src/index.js';

const SEED = Number(process.env.CHAOS_SEED ?? 20_261_125);
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 12_000);
/** The chaos must have killed or hung a replica at least this often for the run to count. */
const MIN_FAULTS = 4;
const CONCURRENCY = 16;
const KINDS = new Set([
  'not-sent',
  'rejected',
  'timeout',
  'connection-lost',
  'remote',
  'protocol',
  'cancelled',
]);
const script = new URL('./fixtures/evidence-replica.ts', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Replica {
  port: number;
  url: string;
  log: string;
  handle: ChildHandle | undefined;
  generation: number;
}

describe('evidence: at-most-once execution and single settlement under chaos (HTTP replicas in child processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rrpc-at-most-once-'));
  const replicas: Replica[] = [];
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.handle?.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(replica: Replica): Promise<void> {
    replica.generation++;
    const handle = spawnScript<{ url: string }>(script, {
      env: { PORT: String(replica.port), LOG: `${replica.log}.${replica.generation}` },
      readyTimeoutMs: 30_000,
    });
    replica.handle = handle;
    await handle.ready;
  }

  it(`at-most-once execution of non-idempotent calls, single settlement of every call (seed ${SEED})`, async () => {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      replicas.push({
        port,
        url: `http://127.0.0.1:${port}/rpc`,
        log: join(dir, `r${i}`),
        handle: undefined,
        generation: 0,
      });
    }
    await Promise.all(replicas.map(start));

    const random = seededRandom(SEED);
    const client = createClient({
      transports: [httpTransport()],
      endpoints: replicas.map((replica) => replica.url),
      random,
      deadlineMs: 2_000,
      methods: { echo: { idempotent: true } },
    });
    const callEvents = new Map<number, number>();
    client.on('call', (event) => callEvents.set(event.callId, (callEvents.get(event.callId) ?? 0) + 1));

    // Chaos: every 300–900 ms one replica is killed, hung or restarted.
    const actions: string[] = [];
    let chaos = true;
    const chaosLoop = (async () => {
      while (chaos) {
        await sleep(300 + random() * 600);
        if (!chaos) break;
        const replica = replicas[Math.floor(random() * replicas.length)]!;
        const roll = random();
        const handle = replica.handle;
        if (handle === undefined || !handle.alive) {
          actions.push(`restart ${replica.port}`);
          await start(replica).catch(() => {});
        } else if (roll < 0.45) {
          actions.push(`kill ${replica.port}`);
          await handle.kill('SIGKILL');
        } else if (roll < 0.9) {
          const ms = 300 + Math.floor(random() * 1_500);
          actions.push(`hang ${replica.port} ${ms} ms`);
          handle.stop();
          setTimeout(() => handle.resume(), ms);
        } else {
          actions.push(`kill+restart ${replica.port}`);
          await handle.kill('SIGKILL');
          await start(replica).catch(() => {});
        }
      }
    })();

    const outcomes = new Map<string, { settled: number; ok: boolean; kind?: string }>();
    let seq = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        const n = seq++;
        const method = n % 2 === 0 ? 'apply' : 'echo';
        const key = `${method}-${n}`;
        const outcome = { settled: 0, ok: false } as { settled: number; ok: boolean; kind?: string };
        outcomes.set(key, outcome);
        try {
          const value = await client.call(method, [key]);
          outcome.settled++;
          outcome.ok = true;
          expect(value).toBe(key);
        } catch (error) {
          outcome.settled++;
          expect(RpcError.isInstance(error), String(error)).toBe(true);
          outcome.kind = (error as RpcError).kind;
          if (process.env.CHAOS_VERBOSE) console.log(key, (error as RpcError).message.slice(0, 160));
          expect(KINDS.has(outcome.kind)).toBe(true);
        }
      }
    };
    const workers = Array.from({ length: CONCURRENCY }, worker);
    // At least CHAOS_MS of chaos, and on a slow machine (where restarting a child takes seconds)
    // longer, until it has killed or hung replicas MIN_FAULTS times (at most 3 × CHAOS_MS).
    const faults = () =>
      actions.filter((action) => action.startsWith('kill') || action.startsWith('hang')).length;
    const chaosStarted = Date.now();
    await sleep(CHAOS_MS);
    while (faults() < MIN_FAULTS && Date.now() - chaosStarted < 3 * CHAOS_MS) await sleep(100);
    chaos = false;
    await chaosLoop;
    // Bring every replica back (and resume hung ones) so late requests finish, then stop calling.
    for (const replica of replicas) {
      if (replica.handle?.alive) replica.handle.resume();
      else await start(replica);
    }
    await sleep(500);
    running = false;
    await Promise.all(workers);
    await sleep(300); // answers of requests that outlived their callers land in the logs

    // Every call settled once.
    expect([...outcomes.values()].every((outcome) => outcome.settled === 1)).toBe(true);
    expect(callEvents.size).toBe(outcomes.size);
    expect([...callEvents.values()].every((count) => count === 1)).toBe(true);
    expect(client.stats().inFlight).toBe(0);

    // No non-idempotent call executed twice, across every replica and generation.
    const executions = new Map<string, number>();
    for (const file of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        if (line.startsWith('apply ')) {
          const key = line.slice(6);
          executions.set(key, (executions.get(key) ?? 0) + 1);
        }
      }
    }
    const twice = [...executions].filter(([, count]) => count > 1);
    expect(twice, `executed more than once: ${twice.slice(0, 5).join(', ')}`).toEqual([]);
    // A call that succeeded executed (once: at most once, and at least once since it succeeded).
    for (const [key, outcome] of outcomes) {
      if (key.startsWith('apply') && outcome.ok) expect(executions.get(key)).toBe(1);
    }

    const failed = [...outcomes.values()].filter((outcome) => !outcome.ok).length;
    const byKind: Record<string, number> = {};
    for (const outcome of outcomes.values())
      if (outcome.kind) byKind[outcome.kind] = (byKind[outcome.kind] ?? 0) + 1;
    const kills = actions.filter((action) => action.startsWith('kill')).length;
    const hangs = actions.filter((action) => action.startsWith('hang')).length;
    expect(kills + hangs).toBeGreaterThanOrEqual(MIN_FAULTS);
    expect(outcomes.size).toBeGreaterThan(100);
    console.log(
      `at-most-once chaos: ${outcomes.size} calls, ${failed} failed (typed), ${kills} kills, ${hangs} hangs, ` +
        `${executions.size} apply executions, failures by kind ${JSON.stringify(byKind)}, seed ${SEED}`,
    );
    await client.close();
  }, 90_000);
});
