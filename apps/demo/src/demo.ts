/** The orchestrator of `pnpm demo`: replicas, both runs, the execution checks, the report. */
import { createClient, type RpcClient } from '@resilient-rpc/core';
import { type NatsServerProcess, startNatsServer } from './nats.js';
import { predictRun } from './prediction.js';
import type { Progress } from './progress.js';
import { killAllNow, ReplicaProcess, replicaListenUrl, type TransportName } from './replicas.js';
import { buildReport, type DemoReport, type ExecutionCheck } from './report.js';
import { clientOptions, type RunResult, runWorkload } from './run.js';
import { phaseWindows, type Scenario, schedule } from './scenario.js';

export interface DemoOptions {
  transport: TransportName;
  replicas: number;
  durationS: number;
  concurrency: number;
  seed: number;
  deadlineMs: number;
  scenario: Scenario;
  baseline: boolean;
  natsUrl?: string;
  progress: Progress;
  /** Wraps the resilient client (`--otel`). */
  instrument?: (client: RpcClient) => RpcClient;
}

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const { progress } = options;
  const durationMs = Math.round(options.durationS * 1000);
  const faults = schedule(options.scenario, durationMs, options.replicas);
  const phases = phaseWindows(faults, durationMs);
  const executions = new Map<string, { count: number; replicas: string[] }>();
  let nats: NatsServerProcess | undefined;
  const replicas: ReplicaProcess[] = [];
  const onExit = () => {
    killAllNow(replicas);
    if (nats !== undefined) nats.child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  try {
    let natsUrl = options.natsUrl;
    if (options.transport === 'nats' && natsUrl === undefined) {
      nats = await startNatsServer();
      natsUrl = nats.url;
      progress.log(`started nats-server on ${natsUrl} (pid ${nats.child.pid})`);
    }
    for (let i = 0; i < options.replicas; i++) {
      replicas.push(
        new ReplicaProcess({
          index: i,
          listenUrl: replicaListenUrl(options.transport, i, natsUrl),
          executions,
        }),
      );
    }
    await Promise.all(replicas.map((replica) => replica.start()));
    for (const replica of replicas)
      progress.log(`replica ${replica.name}: pid ${replica.pid}, ${replica.url}`);

    await warmUp(replicas.map((replica) => replica.url));
    progress.log('warmed up every replica');

    const common = {
      replicas,
      durationMs,
      concurrency: options.concurrency,
      seed: options.seed,
      deadlineMs: options.deadlineMs,
      faults,
      phases,
      progress,
      instrument: options.instrument,
    };
    progress.log(
      `\n▶ run 1/${options.baseline ? 2 : 1}: with recovery — scenario "${options.scenario.name}"`,
    );
    const run = await runWorkload({ ...common, name: 'with-recovery', recovery: true });
    let baseline: RunResult | null = null;
    if (options.baseline) {
      await healAll(replicas);
      progress.log('\n▶ run 2/2: baseline — the same workload and faults with a plain client');
      baseline = await runWorkload({ ...common, name: 'baseline', recovery: false });
    }
    await healAll(replicas);
    const check = await checkExecutions(replicas, executions, [run, baseline]);
    // Predictions from the schedule, the configuration, health events and calibration (the
    // baseline run calibrates the recovery run; the baseline is predicted from the schedule alone).
    const urlOf = new Map(replicas.map((replica) => [replica.name, replica.url]));
    const scheduled = new Map(
      faults.map((fault) => [
        fault.label,
        {
          ...(fault.rate !== undefined && { rate: fault.rate }),
          ...(fault.delayMs !== undefined && { delayMs: fault.delayMs }),
        },
      ]),
    );
    const predictions = {
      withRecovery: predictRun({ run, calibration: baseline, urlOf, scheduled }),
      baseline: baseline === null ? null : predictRun({ run: baseline, calibration: null, urlOf, scheduled }),
    };
    return buildReport({
      predictions,
      transport: options.transport,
      replicas: options.replicas,
      seed: options.seed,
      scenario: options.scenario,
      run,
      baseline,
      executions: check,
    });
  } finally {
    await Promise.all(replicas.map((replica) => replica.close()));
    await nats?.close();
    process.removeListener('exit', onExit);
  }
}

/**
 * A few untracked calls to every replica before the first run, so neither run pays for cold
 * code paths (JIT, first connections).
 */
async function warmUp(urls: readonly string[]): Promise<void> {
  const client = createClient(clientOptions(false, urls, 5_000, 0));
  try {
    const rounds = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 15 * urls.length; i++) {
        await client.call('work', { ms: 1 }, { idempotent: true }).catch(() => {});
        await client.call('add', [i, 1], { idempotent: true }).catch(() => {});
      }
    });
    await Promise.all(rounds);
  } finally {
    await client.close();
  }
}

/** Every replica alive, running and fault-free. */
async function healAll(replicas: readonly ReplicaProcess[]): Promise<void> {
  for (const replica of replicas) {
    if (!replica.alive) await replica.start();
    replica.resume();
    replica.setFault({ failRate: 0, delayMs: 0 });
  }
}

async function checkExecutions(
  replicas: readonly ReplicaProcess[],
  executions: Map<string, { count: number; replicas: string[] }>,
  runs: ReadonlyArray<RunResult | null>,
): Promise<ExecutionCheck> {
  const counterMismatches: ExecutionCheck['counterMismatches'] = [];
  const unanswered: string[] = [];
  for (const replica of replicas) {
    const counters = await replica.counters();
    if (counters === undefined) {
      unanswered.push(replica.name);
      continue;
    }
    for (const [id, count] of Object.entries(counters.charges)) {
      if (count > 1 && (executions.get(id)?.count ?? 0) < count) {
        executions.set(id, { count, replicas: Array(count).fill(replica.name) });
      }
    }
    // The EXEC lines travel on stdout, the counters on IPC: give stdout a moment to catch up.
    const incarnation = replica.current!;
    for (let i = 0; i < 20 && incarnation.executions < counters.chargesExecuted; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    if (incarnation.executions !== counters.chargesExecuted) {
      counterMismatches.push({
        replica: replica.name,
        counted: counters.chargesExecuted,
        logged: incarnation.executions,
      });
    }
  }
  // Wait until the logs of dead incarnations are fully read.
  await Promise.all(
    replicas.flatMap((replica) => replica.incarnations.filter((i) => !i.alive).map((i) => i.drained)),
  );
  const doubleExecutions = [...executions.entries()]
    .filter(([, entry]) => entry.count > 1)
    .map(([id, entry]) => ({ id, count: entry.count, replicas: entry.replicas }));
  const succeededNotExecuted: string[] = [];
  let nonIdempotentCalls = 0;
  for (const run of runs) {
    if (run === null) continue;
    nonIdempotentCalls += run.nonIdempotent.calls;
    for (const id of run.nonIdempotent.succeededIds) if (!executions.has(id)) succeededNotExecuted.push(id);
  }
  return {
    nonIdempotentCalls,
    executedIds: executions.size,
    doubleExecutions,
    succeededNotExecuted,
    counterMismatches,
    unanswered,
  };
}
