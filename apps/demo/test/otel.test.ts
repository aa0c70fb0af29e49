import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('pnpm demo --otel', () => {
  it('console: prints the client metrics and the trace of a call that failed over during the crash', async () => {
    const result = await runCli(['--otel', 'console', '--duration', '6', '--no-baseline', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("name: 'rpc.client.calls'");
    expect(result.stdout).toContain("name: 'rpc.client.attempt.duration'");
    expect(result.stdout).toMatch(/OpenTelemetry: the first \d+ calls with retries, failovers or errors/);
    // The faults (a crash, a flaky replica) make calls retry elsewhere: a trace shows the failed
    // attempt, then the failover.
    expect(result.stdout).toMatch(/· failover {2}attempt=\d+ from_endpoint=\S+ endpoint=\S+/);
    expect(result.stdout).toMatch(/├─ \S+ attempt {2}attempt=\d+ .*outcome=(?!success|abandoned)\S+/);
    // 6 s of traffic plus starting the CLI and its replica children from sources: ~16 s on an idle
    // 2-core machine, over 30 s at load 10+. Bounded by runCli's own 120 s, like the other demo runs.
  }, 120_000);

  it('rejects an unknown exporter with the usage', async () => {
    const result = await runCli(['--otel', 'jaeger']);
    expect(result.code).not.toBe(0);
    expect(result.stderr + result.stdout).toMatch(/--otel must be one of console, prometheus/);
  });
});
