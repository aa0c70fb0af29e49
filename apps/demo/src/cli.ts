#!/usr/bin/env node
/**
 * `pnpm demo [options]` — RPC calls surviving crashed, hung, flaky and slow replicas, and what
 * that is worth: see README.md. `pnpm demo serve …` runs one standalone replica.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import { renderHtml } from './html.js';
import { isOtelExport, OTEL_EXPORTS, setupTelemetry } from './otel.js';
import { createProgress } from './progress.js';
import { isTransportName, TRANSPORTS } from './replicas.js';
import { renderReport } from './report.js';
import { listScenarios, loadScenario } from './scenario.js';
import { serve } from './serve.js';

const USAGE = `Usage:
  pnpm demo [options]                 run the fault-injection demo (from the repo root)
  pnpm demo serve [serve options]     run one standalone replica of the example service

Demo options:
  --transport http|ws|nats   transport for every replica and the client (default http)
  --replicas N               replicas, child processes on 127.0.0.1 (default 3)
  --duration S               seconds per run; each run plays the whole scenario (default: the scenario's, 14 for "default")
  --concurrency C            closed-loop workers (default 8)
  --seed N                   seed of the workload and the client's jitter (default 1)
  --scenario NAME|FILE       fault timeline: ${listScenarios().join(', ') || 'default'} or a JSON file (default "default")
  --deadline MS              per-call deadline (default 2000)
  --no-baseline              skip the second run with a plain client
  --json FILE                write the report as JSON
  --html FILE                write a self-contained HTML report
  --nats-url URL             with --transport nats, use this broker instead of starting nats-server
  --quiet                    no live progress, only the final report
  --otel console|prometheus  OpenTelemetry on the resilient client: metrics and the traces of retried or failed
                             calls printed at the end, or metrics served at http://127.0.0.1:9464/metrics
                             (OTEL_EXPORTER_PROMETHEUS_PORT) while it runs; see docs/observability.md
  -h, --help                 this help

Serve options:
  --listen URL               where to serve, repeatable; the scheme picks the transport
                             (default http://127.0.0.1:8080/rpc; ws://0.0.0.0:8081/rpc,
                             nats://127.0.0.1:4222/demo.rpc; port 0 picks a free port)
`;

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function integer(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer in [${min}, ${max}]`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'serve') {
    const { values } = parseArgs({
      args: argv.slice(1),
      options: {
        listen: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    try {
      await serve(values.listen ?? ['http://127.0.0.1:8080/rpc']);
    } catch (error) {
      // A listen URL no transport takes, or a port in use: say so, with the usage.
      fail((error as Error).message);
    }
    return -1; // keeps serving
  }

  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      options: {
        transport: { type: 'string', default: 'http' },
        replicas: { type: 'string' },
        duration: { type: 'string' },
        concurrency: { type: 'string' },
        seed: { type: 'string' },
        scenario: { type: 'string', default: 'default' },
        deadline: { type: 'string' },
        'no-baseline': { type: 'boolean', default: false },
        json: { type: 'string' },
        html: { type: 'string' },
        'nats-url': { type: 'string' },
        quiet: { type: 'boolean', default: false },
        otel: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    fail((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const transport = values.transport ?? 'http';
  if (!isTransportName(transport)) fail(`--transport must be one of ${TRANSPORTS.join(', ')}`);
  let scenario: ReturnType<typeof loadScenario>;
  try {
    scenario = loadScenario(values.scenario ?? 'default');
  } catch (error) {
    fail((error as Error).message);
  }
  let durationS = scenario.durationS;
  if (values.duration !== undefined) {
    durationS = Number(values.duration);
    if (!(durationS >= 1 && durationS <= 3600)) fail('--duration must be a number of seconds in [1, 3600]');
  }
  const replicas = integer(values.replicas, 'replicas', 3, 1, 32);
  const maxReplica = Math.max(-1, ...scenario.faults.map((f) => f.replica));
  if (maxReplica >= replicas)
    fail(
      `scenario "${scenario.name}" has faults on replica ${maxReplica}: use --replicas ${maxReplica + 1} or more`,
    );
  const otel = values.otel;
  if (otel !== undefined && !isOtelExport(otel)) fail(`--otel must be one of ${OTEL_EXPORTS.join(', ')}`);
  const progress = createProgress(process.stdout, values.quiet === true);
  const telemetry =
    otel === undefined ? undefined : setupTelemetry(otel, (text) => process.stdout.write(`${text}\n`));
  const report = await runDemo({
    transport,
    replicas,
    durationS,
    concurrency: integer(values.concurrency, 'concurrency', 8, 1, 1_000),
    seed: integer(values.seed, 'seed', 1, 0, 2 ** 31),
    deadlineMs: integer(values.deadline, 'deadline', 2_000, 50, 120_000),
    scenario,
    baseline: values['no-baseline'] !== true,
    ...(values['nats-url'] !== undefined && { natsUrl: values['nats-url'] }),
    progress,
    ...(telemetry !== undefined && { instrument: telemetry.instrument }),
  });
  await telemetry?.finish();
  process.stdout.write(renderReport(report));
  for (const [file, text] of [
    [values.json, () => `${JSON.stringify(report, null, 2)}\n`],
    [values.html, () => renderHtml(report)],
  ] as const) {
    if (file === undefined) continue;
    const path = resolve(file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text());
    process.stdout.write(`wrote ${path}\n`);
  }
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(
      `demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
