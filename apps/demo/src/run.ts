/**
 * One run of the demo: a client (with recovery, or the plain baseline) drives a closed-loop
 * workload against the replicas while the scenario's faults are injected for real; everything
 * the client reports is recorded on one timeline, and every count comes from its events.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  type AvailabilityEventSource,
  type AvailabilityReport,
  AvailabilityTracker,
  type ClientOptions,
  createClient,
  type DetectionRecord,
  type EndpointState,
  type MethodOptions,
  type RpcClient,
  RpcError,
  seededRandom,
  systemClock,
} from '@resilient-rpc/core';
import { PLAIN_POLICIES, PlainClient } from './plain-client.js';
import type { Progress } from './progress.js';
import type { ReplicaProcess } from './replicas.js';
import type { PhaseWindow, ScheduledFault } from './scenario.js';
import { percentile } from './stats.js';
import { installedTransports } from './transports.js';
import { HEDGED_METHOD, IDEMPOTENT_METHODS, planCall } from './workload.js';

export type RunName = 'with-recovery' | 'baseline';

export interface RunConfig {
  name: RunName;
  recovery: boolean;
  replicas: readonly ReplicaProcess[];
  durationMs: number;
  concurrency: number;
  seed: number;
  deadlineMs: number;
  faults: readonly ScheduledFault[];
  phases: readonly PhaseWindow[];
  progress: Progress;
  /** Wraps the resilient client (`--otel`: OpenTelemetry instrumentation). */
  instrument?: (client: RpcClient) => RpcClient;
}

export interface PhaseResult {
  name: string;
  startMs: number;
  endMs: number;
  calls: number;
  succeeded: number;
  failed: number;
  retries: number;
  failovers: number;
  hedges: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface SeriesBucket {
  tMs: number;
  calls: number;
  succeeded: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface StateChange {
  tMs: number;
  replica: string;
  from: EndpointState;
  to: EndpointState;
  reason: string;
}

export interface FaultResult {
  label: string;
  type: ScheduledFault['type'];
  replica: string;
  /** Scheduled window, ms from the run's start. */
  startMs: number;
  endMs: number;
  /** When the fault was actually injected and cleared (ms from the run's start). */
  injectedAtMs: number | null;
  clearedAtMs: number | null;
  pid: number | null;
  /** crash: when the restarted process served again. */
  restartedAtMs?: number | null;
}

export interface DetectionResult {
  fault: string;
  type: ScheduledFault['type'];
  replica: string;
  /**
   * From injection to the first health event on the endpoint (it left `healthy` for `suspect`,
   * `down` or `ejected`) within the fault's window; null if none came: "not detected".
   */
  detectedAfterMs: number | null;
  detectedAs: EndpointState | null;
  /** From the fault's end to the endpoint being `healthy` again; null if not within the run. */
  recoveredAfterMs: number | null;
  /** `health` when a health event came in the window; null otherwise (only health events count). */
  detectedBy: 'health' | null;
  /** Why no health event came, and what the client did instead. */
  note?: string;
}

export interface RunResult {
  name: RunName;
  recovery: boolean;
  durationMs: number;
  concurrency: number;
  deadlineMs: number;
  calls: number;
  succeeded: number;
  failed: number;
  /** Calls that neither succeeded nor failed with a typed RpcError (by the deadline and a grace). */
  lost: number;
  /** Calls that failed with something other than an RpcError. */
  untyped: number;
  /** Calls that succeeded with a wrong result. */
  wrongResults: number;
  retries: number;
  failovers: number;
  hedges: number;
  budgetExhausted: number;
  /** Failed calls by failure kind. */
  failures: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
  nonIdempotent: { calls: number; succeeded: number; succeededIds: string[] };
  phases: PhaseResult[];
  series: SeriesBucket[];
  bucketMs: number;
  states: StateChange[];
  faults: FaultResult[];
  detections: DetectionResult[];
  availability: AvailabilityReport;
  /** Retries configured (maxAttempts − 1). */
  configuredRetries: number;
  /** Every call: when it started and ended (ms from the run's start), whether it succeeded, and for the plain client the endpoint it went to. Not part of the report. */
  callLog: CallRecord[];
  /** The orchestrator's event-loop delay during the run (p99 and max, ms): high values mean a starved client. */
  eventLoopDelayMs: { p99: number; max: number };
}

/** One call of a run. */
export interface CallRecord {
  startMs: number;
  endMs: number;
  ok: boolean;
  idempotent: boolean;
  /** The endpoint round-robin gave it (plain client only: the recovery client may use several). */
  endpoint?: string;
}

/** Attempts per call of the recovery client (the first included); the plain client makes one. */
export const RECOVERY_MAX_ATTEMPTS = 3;

/** The client options of each run. Only the URLs differ between transports. */
export function clientOptions(
  recovery: boolean,
  urls: readonly string[],
  deadlineMs: number,
  seed: number,
): ClientOptions {
  // Each replica has a NATS subject of its own and the report follows replicas by URL: no discovery.
  const transports = installedTransports({ natsDiscovery: false });
  const base = { transports, endpoints: urls, deadlineMs, random: seededRandom(seed) };
  if (!recovery) return { ...base, ...PLAIN_POLICIES };
  const methods: Record<string, MethodOptions> = { charge: { idempotent: false } };
  for (const name of IDEMPOTENT_METHODS) methods[name] = { idempotent: true, hedge: name === HEDGED_METHOD };
  return {
    ...base,
    retry: { maxAttempts: RECOVERY_MAX_ATTEMPTS },
    // A short demo needs short windows: ejections and open breakers of seconds, not the
    // production defaults' 30 s and 5 s, so a repaired replica comes back within the run.
    heartbeat: { intervalMs: 500, timeoutMs: 500 },
    outlierDetection: { baseEjectionMs: 1_000, maxEjectionMs: 3_000 },
    circuitBreaker: { openMs: 1_000, maxOpenMs: 3_000 },
    hedging: true,
    methods,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Why no health event came for a fault, and what the client did instead. */
const UNHEALTHY_NOTE: Record<ScheduledFault['type'], string> = {
  slow: 'not detected: the replica stays healthy (it answers, slowly); p2c peak-EWMA steers calls away and hedging rescues the ones that went there',
  flaky:
    'not detected: the replica stays healthy (it answers, with errors); remote errors, even retryable ones, count as signs of life, so failed calls are retried on another replica instead',
  crash:
    'not detected: endpoint health never left healthy within the fault; failed calls were retried elsewhere',
  hang: 'not detected: endpoint health never left healthy within the fault',
};

export async function runWorkload(config: RunConfig): Promise<RunResult> {
  const { replicas, durationMs, progress } = config;
  const urls = replicas.map((replica) => replica.url);
  const nameOf = new Map(replicas.map((replica) => [replica.url, replica.name]));
  const client: RpcClient | PlainClient = config.recovery
    ? (config.instrument ?? ((plain: RpcClient) => plain))(
        createClient(clientOptions(true, urls, config.deadlineMs, config.seed)),
      )
    : new PlainClient({
        transports: installedTransports({ natsDiscovery: false }),
        endpoints: urls,
        deadlineMs: config.deadlineMs,
        seed: config.seed,
      });
  const events: AvailabilityEventSource = client;
  const tracker = new AvailabilityTracker({ clock: systemClock });
  const detach = tracker.attach(events);

  // How late our own timers fire: a starved client (a busy machine) detects late, and says so.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const t0 = systemClock.now();
  const rel = (at: number) => at - t0;
  const stopAt = t0 + durationMs;

  const states: StateChange[] = [];
  // Every count in the report comes from these events, for both clients.
  const eventTimes = { retries: [] as number[], failovers: [] as number[], hedges: [] as number[] };
  let budgetExhausted = 0;
  const currentState = new Map<string, EndpointState>(urls.map((url) => [url, 'healthy']));
  const offs = [
    events.on('endpoint-state', (e) => {
      const replica = nameOf.get(e.endpoint) ?? e.endpoint;
      currentState.set(e.endpoint, e.to);
      states.push({ tMs: rel(e.at), replica, from: e.from, to: e.to, reason: e.reason });
      progress.event(rel(e.at), `${replica} ${e.from} → ${e.to} (${e.reason})`);
    }),
    events.on('retry', (e) => eventTimes.retries.push(rel(e.at))),
    events.on('failover', (e) => eventTimes.failovers.push(rel(e.at))),
    events.on('hedge', (e) => eventTimes.hedges.push(rel(e.at))),
    events.on('budget-exhausted', () => budgetExhausted++),
  ];

  // --- the scenario ------------------------------------------------------------------------
  const faultResults: FaultResult[] = [];
  const marks: Array<{ fault: ScheduledFault; record: DetectionRecord | undefined; result: FaultResult }> =
    [];
  const timers: NodeJS.Timeout[] = [];
  const background: Promise<unknown>[] = [];
  const activeFaults = new Set<string>();
  for (const fault of config.faults) {
    const replica = replicas[fault.replica]!;
    const result: FaultResult = {
      label: fault.label,
      type: fault.type,
      replica: replica.name,
      startMs: fault.startMs,
      endMs: fault.endMs,
      injectedAtMs: null,
      clearedAtMs: null,
      pid: null,
      ...(fault.type === 'crash' && { restartedAtMs: null }),
    };
    faultResults.push(result);
    const mark = { fault, record: undefined as DetectionRecord | undefined, result };
    marks.push(mark);
    timers.push(
      setTimeout(() => {
        const at = systemClock.now();
        result.injectedAtMs = rel(at);
        result.pid = replica.pid ?? null;
        mark.record = tracker.markFault(replica.url, at, fault.label);
        activeFaults.add(fault.label);
        let how = '';
        switch (fault.type) {
          case 'crash':
            how = `SIGKILL pid ${replica.pid}`;
            background.push(replica.kill());
            break;
          case 'hang':
            how = `SIGSTOP pid ${replica.pid}`;
            replica.stop();
            break;
          case 'flaky':
            how = `${Math.round((fault.rate ?? 0.5) * 100)}% of calls fail`;
            replica.setFault({ failRate: fault.rate ?? 0.5 });
            break;
          case 'slow':
            how = `+${fault.delayMs ?? 600} ms per call`;
            replica.setFault({ delayMs: fault.delayMs ?? 600 });
            break;
        }
        progress.event(rel(at), `fault: ${fault.label} (${how})`);
      }, fault.startMs),
      setTimeout(() => {
        const at = systemClock.now();
        result.clearedAtMs = rel(at);
        activeFaults.delete(fault.label);
        switch (fault.type) {
          case 'crash': {
            progress.event(rel(at), `restarting ${replica.name} on ${replica.url}`);
            const restart = replica
              .kill()
              .then(() => replica.start())
              .then(() => {
                result.restartedAtMs = rel(systemClock.now());
                progress.event(result.restartedAtMs, `${replica.name} serves again (pid ${replica.pid})`);
              });
            background.push(restart);
            break;
          }
          case 'hang':
            replica.resume();
            progress.event(rel(at), `SIGCONT ${replica.name} (pid ${replica.pid})`);
            break;
          case 'flaky':
            replica.setFault({ failRate: 0 });
            progress.event(rel(at), `${replica.name} no longer fails calls`);
            break;
          case 'slow':
            replica.setFault({ delayMs: 0 });
            progress.event(rel(at), `${replica.name} no longer slow`);
            break;
        }
      }, fault.endMs),
    );
  }

  // --- the workload ------------------------------------------------------------------------
  const records: CallRecord[] = [];
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const succeededIds: string[] = [];
  let nonIdempotentCalls = 0;
  let started = 0;
  let succeeded = 0;
  let failed = 0;
  let untyped = 0;
  let wrongResults = 0;
  let inFlight = 0;
  const pending = new Set<number>();
  const idPrefix = config.recovery ? 'rec' : 'base';

  const worker = async (index: number) => {
    const random = seededRandom(config.seed * 7_919 + index * 104_729);
    let seq = 0;
    while (systemClock.now() < stopAt) {
      const planned = planCall(random, `${idPrefix}${index}`, seq++);
      const callNo = started++;
      if (!planned.idempotent) nonIdempotentCalls++;
      pending.add(callNo);
      inFlight++;
      const startedAt = systemClock.now();
      let ok = false;
      let endpoint: string | undefined;
      try {
        const options = { idempotent: planned.idempotent };
        let pendingResult: Promise<unknown>;
        if (client instanceof PlainClient) {
          const routed = client.route(planned.method, planned.params, options);
          endpoint = routed.endpoint;
          pendingResult = routed.result;
        } else pendingResult = client.call(planned.method, planned.params, options);
        const result = await pendingResult;
        ok = true;
        if (!planned.check(result)) wrongResults++;
        if (planned.id !== undefined) succeededIds.push(planned.id);
        succeeded++;
      } catch (error) {
        failed++;
        if (RpcError.isInstance(error)) failures[error.kind] = (failures[error.kind] ?? 0) + 1;
        else {
          untyped++;
          failures.untyped = (failures.untyped ?? 0) + 1;
        }
      } finally {
        inFlight--;
        pending.delete(callNo);
      }
      const endedAt = systemClock.now();
      records.push({
        startMs: rel(startedAt),
        endMs: rel(endedAt),
        ok,
        idempotent: planned.idempotent,
        ...(endpoint !== undefined && { endpoint }),
      });
      latencies.push(endedAt - startedAt);
    }
  };

  const snapshot = () => {
    const now = systemClock.now();
    let recent = 0;
    for (let i = records.length - 1; i >= 0 && records[i]!.endMs >= rel(now) - 1_000; i--) recent++;
    return {
      run: config.name,
      elapsedMs: Math.min(durationMs, rel(now)),
      durationMs,
      calls: succeeded + failed,
      succeeded,
      failed,
      inFlight,
      rate: recent,
      endpoints: replicas.map((replica) => ({
        name: replica.name,
        url: replica.url,
        state: config.recovery ? (currentState.get(replica.url) ?? 'healthy') : '(no health checks)',
        process: replica.status,
      })),
      activeFaults: [...activeFaults],
    };
  };
  const ticker = setInterval(() => {
    progress.update(snapshot());
    if (process.env.DEMO_DEBUG && !(client instanceof PlainClient))
      process.stderr.write(
        `${Math.round(rel(systemClock.now()))} ${client
          .stats()
          .endpoints.map((e) => `${e.state}/${e.inFlight}/${e.latencyEwmaMs.toFixed(0)}`)
          .join(' ')}\n`,
      );
  }, 100);

  const workers = Array.from({ length: config.concurrency }, (_, i) => worker(i));
  // Every call settles by its deadline; past that and a grace, whatever is pending is lost.
  const graceMs = config.deadlineMs + 3_000;
  await sleep(durationMs);
  await Promise.race([Promise.all(workers), sleep(graceMs)]);
  const lost = pending.size;
  loopDelay.disable();
  clearInterval(ticker);
  progress.update({ ...snapshot(), elapsedMs: durationMs });
  progress.done();
  for (const timer of timers) clearTimeout(timer);
  await Promise.allSettled(background);

  // --- results -----------------------------------------------------------------------------
  // Detection counts health events only: the endpoint leaving healthy within the fault's window.
  const detections: DetectionResult[] = config.recovery
    ? marks
        .filter((mark) => mark.record !== undefined)
        .map(({ fault, record, result }) => {
          // The fault's actual span: a crashed replica is down until its restarted process
          // serves again, and a late timer may have cleared a fault after its scheduled end.
          const actualEndMs = Math.max(
            fault.endMs,
            result.clearedAtMs ?? fault.endMs,
            fault.type === 'crash' ? (result.restartedAtMs ?? fault.endMs) : fault.endMs,
          );
          const faultEnd = t0 + actualEndMs;
          const detectedAt = record!.detectedAt;
          const valid = detectedAt !== null && detectedAt <= faultEnd;
          const name = replicas[fault.replica]!.name;
          const back = states.find((s) => s.replica === name && s.to === 'healthy' && s.tMs >= fault.endMs);
          return {
            fault: fault.label,
            type: fault.type,
            replica: result.replica,
            detectedAfterMs: valid ? record!.detectedAfterMs : null,
            detectedAs: valid ? record!.detectedAs : null,
            detectedBy: valid ? ('health' as const) : null,
            recoveredAfterMs: back === undefined ? null : back.tMs - fault.endMs,
            ...(!valid && { note: UNHEALTHY_NOTE[fault.type] }),
          };
        })
    : [];
  const configuredRetries = config.recovery ? RECOVERY_MAX_ATTEMPTS - 1 : 0;
  const availability = tracker.report({ replicas: replicas.length, retries: configuredRetries });
  detach();
  for (const off of offs) off();
  await client.close();

  // The last phase also takes what started after the scheduled end (the calls still settling).
  const inWindow = (t: number, w: { startMs: number; endMs: number }, last: boolean) =>
    t >= w.startMs && (t < w.endMs || last);
  const phases: PhaseResult[] = config.phases.map((window, i) => {
    const last = i === config.phases.length - 1;
    const lat: number[] = [];
    let ok = 0;
    let bad = 0;
    for (const record of records) {
      if (!inWindow(record.startMs, window, last)) continue;
      if (record.ok) ok++;
      else bad++;
      lat.push(record.endMs - record.startMs);
    }
    const count = (times: number[]) => times.filter((t) => inWindow(t, window, last)).length;
    return {
      name: window.name,
      startMs: window.startMs,
      endMs: window.endMs,
      calls: ok + bad,
      succeeded: ok,
      failed: bad,
      retries: count(eventTimes.retries),
      failovers: count(eventTimes.failovers),
      hedges: count(eventTimes.hedges),
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
    };
  });

  const bucketMs = Math.max(100, Math.round(durationMs / 70 / 50) * 50);
  const series: SeriesBucket[] = [];
  const lastEnd = records.reduce((max, r) => Math.max(max, r.endMs), durationMs);
  for (let t = 0; t < lastEnd; t += bucketMs) {
    const lat: number[] = [];
    let ok = 0;
    let bad = 0;
    for (const record of records) {
      if (record.endMs < t || record.endMs >= t + bucketMs) continue;
      if (record.ok) ok++;
      else bad++;
      lat.push(record.endMs - record.startMs);
    }
    series.push({
      tMs: t,
      calls: ok + bad,
      succeeded: ok,
      failed: bad,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
    });
  }

  return {
    name: config.name,
    recovery: config.recovery,
    durationMs,
    concurrency: config.concurrency,
    deadlineMs: config.deadlineMs,
    calls: started,
    succeeded,
    failed,
    lost,
    untyped,
    wrongResults,
    retries: eventTimes.retries.length,
    failovers: eventTimes.failovers.length,
    hedges: eventTimes.hedges.length,
    budgetExhausted,
    failures,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    nonIdempotent: { calls: nonIdempotentCalls, succeeded: succeededIds.length, succeededIds },
    phases,
    series,
    bucketMs,
    states,
    faults: faultResults,
    detections,
    availability,
    configuredRetries,
    callLog: records,
    eventLoopDelayMs: {
      p99: Math.round(loopDelay.percentile(99) / 1e6),
      max: Math.round(loopDelay.max / 1e6),
    },
  };
}
