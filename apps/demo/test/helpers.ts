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

  // A detection for every fault, within its window: by endpoint health (connection state, stall
  // suspicion, heartbeat, ejection), or by a hedge or retry away from the replica. A crash over HTTP
  // and WS must be seen by health (refused connections); over NATS a crashed replica is seen by the
  // retries of its "no responders" rejections only, because the core counts a rejection as a sign of
  // life (see README "Known limitations"). A hang is usually seen by stall suspicion within ~250 ms,
  // but on a starved machine a hedge may see it first, so the test does not insist on the mechanism.
  expect(report.faults).toHaveLength(4);
  expect(report.detections).toHaveLength(report.faults.length);
  for (const detection of report.detections) {
    expect(detection.detectedAfterMs, `${detection.fault} was not detected`).not.toBeNull();
    expect(detection.detectedAfterMs!).toBeGreaterThanOrEqual(0);
    if (detection.type === 'crash' && transport !== 'nats') {
      expect(detection.detectedBy, `${detection.fault} by`).toBe('health');
      expect(['suspect', 'down', 'ejected']).toContain(detection.detectedAs);
    }
  }
  expect(report.invariants.everyFaultDetected).toBe(true);

  // No double execution of a non-idempotent call; every success was executed exactly once.
  const e = report.executions;
  expect(e.nonIdempotentCalls).toBeGreaterThan(0);
  expect(e.doubleExecutions).toEqual([]);
  expect(e.succeededNotExecuted).toEqual([]);
  expect(e.counterMismatches).toEqual([]);
  expect(e.unanswered).toEqual([]);

  // Measured availability with its interval, and the models' predictions.
  const av = report.availability;
  expect(av.measured).not.toBeNull();
  expect(av.interval[0]).toBeLessThanOrEqual(av.measured!);
  expect(av.interval[1]).toBeGreaterThanOrEqual(av.measured!);
  for (const model of ['spo', 'ha', 'retry', 'failover']) {
    expect(av.predicted[model]?.value).toBeGreaterThanOrEqual(0);
    expect(av.predicted[model]?.value).toBeLessThanOrEqual(1);
  }
  expect(av.baseline?.measured).not.toBeNull();
}
