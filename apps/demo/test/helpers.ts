import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tsNodeArgs } from '@resilient-rpc/testkit';
import { expect } from 'vitest';
import type { DemoReport } from '../src/report.js';

export const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
export const artifactsDir = fileURLToPath(new URL('../artifacts/', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo CLI from its sources (as `pnpm demo` would from dist/). */
export function runCli(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...tsNodeArgs(), cliPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`demo did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the quick scenario on `transport` and returns the JSON report. */
export async function runQuick(
  transport: string,
  extra: string[] = [],
): Promise<{ result: CliResult; report: DemoReport }> {
  mkdirSync(artifactsDir, { recursive: true });
  const json = `${artifactsDir}report-${transport}.json`;
  const result = await runCli(['--transport', transport, '--scenario', 'quick', '--json', json, ...extra]);
  if (result.code !== 0) throw new Error(`demo exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return { result, report: JSON.parse(readFileSync(json, 'utf8')) as DemoReport };
}

/** The invariants every demo run must keep. */
export function checkInvariants(report: DemoReport, transport: string): void {
  expect(report.transport).toBe(transport);
  expect(report.replicas).toBe(3);
  expect(report.ok).toBe(true);

  // No lost call: every call either succeeded or failed with a typed RpcError.
  const t = report.totals;
  expect(t.calls).toBeGreaterThan(0);
  expect(t.lost).toBe(0);
  expect(t.succeeded + t.failed).toBe(t.calls);
  expect(Object.keys(t.failures)).not.toContain('untyped');
  const b = report.baseline!;
  expect(b).not.toBeNull();
  expect(b.calls).toBeGreaterThan(0);
  expect(b.lost).toBe(0);
  expect(b.succeeded + b.failed).toBe(b.calls);
  expect(t.wrongResults + b.wrongResults).toBe(0);

  // Phases add up to the totals.
  expect(report.phases.reduce((sum, p) => sum + p.calls, 0)).toBe(t.calls);
  expect(b.phases.reduce((sum, p) => sum + p.calls, 0)).toBe(b.calls);

  // With recovery at least as good as without.
  expect(t.succeeded / t.calls).toBeGreaterThanOrEqual(b.succeeded / b.calls);
  expect(report.invariants.recoveryAtLeastBaseline).toBe(true);

  // The baseline is plain: one attempt per call, so no retry, failover or hedge events at all,
  // and round-robin sends calls to the dead or hung replica too, so some fail.
  expect(b.retries).toBe(0);
  expect(b.failovers).toBe(0);
  expect(b.hedges).toBe(0);
  expect(b.failed).toBeGreaterThan(0);

  // Detection counts health events only (suspect, down, ejected). A crash is seen by the refused
  // connections (HTTP, WS) or the "no responders" rejections (NATS), a hang by stall suspicion;
  // a flaky replica answers, so it may stay healthy: then the report says "not detected".
  expect(report.faults).toHaveLength(4);
  expect(report.detections).toHaveLength(report.faults.length);
  for (const detection of report.detections) {
    if (detection.detectedAfterMs === null) {
      expect(detection.detectedBy).toBeNull();
      expect(detection.detectedAs).toBeNull();
      continue;
    }
    expect(detection.detectedBy).toBe('health');
    expect(['suspect', 'down', 'ejected']).toContain(detection.detectedAs);
    expect(detection.detectedAfterMs).toBeGreaterThanOrEqual(0);
  }
  for (const detection of report.detections) {
    if (detection.type === 'hang' || detection.type === 'crash') {
      expect(detection.detectedBy, `${detection.fault} detected by health`).toBe('health');
    }
  }
  expect(report.invariants.everyFaultDetected).toBe(
    report.detections.every((d) => d.detectedBy === 'health'),
  );

  // At-most-once execution of non-idempotent calls; every success was executed (once).
  const e = report.executions;
  expect(e.nonIdempotentCalls).toBeGreaterThan(0);
  expect(e.doubleExecutions).toEqual([]);
  expect(e.succeededNotExecuted).toEqual([]);
  expect(e.counterMismatches).toEqual([]);
  expect(e.unanswered).toEqual([]);

  // Measured availability with its interval, and the predictions from the schedule.
  const av = report.availability;
  expect(av.measured).not.toBeNull();
  expect(av.interval[0]).toBeLessThanOrEqual(av.measured!);
  expect(av.interval[1]).toBeGreaterThanOrEqual(av.measured!);
  const recovery = av.predictions.withRecovery;
  const baseline = av.predictions.baseline!;
  expect(recovery.models.map((m) => m.model)).toEqual(['spo', 'ha', 'retry', 'failover', 'correlated']);
  // The predictions' inputs are the schedule, the configuration and the health events:
  expect(recovery.inputs).toMatchObject({ retries: 2, replicas: 3, healthAware: true, idempotentShare: 0.8 });
  expect(baseline.inputs).toMatchObject({ retries: 0, replicas: 3, healthAware: false });
  expect(recovery.faults.map((f) => f.fault)).toEqual(report.faults.map((f) => f.label));
  for (const [i, fault] of recovery.faults.entries()) {
    const detected = report.detections[i]!.detectedAfterMs;
    if (detected === null) expect(fault.detectedAfterMs).toBeNull();
    else expect(Math.abs(fault.detectedAfterMs! - detected)).toBeLessThanOrEqual(0.05); // the report rounds to 0.1 ms
    // A crashed replica, calibrated on the plain client, fails most attempts sent to it (over WS a
    // call made while the connection is down waits for the reconnect, so the ones started just
    // before the restarted process serves again succeed).
    if (fault.type === 'crash') {
      expect(fault.rateFrom).toBe('calibration');
      expect(fault.attemptFailureRate).toBeGreaterThan(0.5);
    }
  }
  // The baseline's exposure is each fault's whole duration (no health).
  for (const fault of baseline.faults) expect(fault.exposureMs).toBe(fault.durationMs);
  // With no retries and no health, the independent and the correlated models differ only by the
  // calls in flight at a crash or hang.
  const u = (p: typeof baseline, model: string) => p.models.find((m) => m.model === model)!.unavailability;
  const inFlight = baseline.faults.reduce((sum, f) => sum + f.inFlight, 0);
  expect(u(baseline, 'correlated') - u(baseline, 'retry')).toBeCloseTo(inFlight, 12);
  // The report says where each model lands, and prints it.
  for (const p of [recovery, baseline])
    for (const model of p.models) expect(['inside', 'below', 'above']).toContain(model.lands);
  expect(av.baseline?.measured).not.toBeNull();
}
