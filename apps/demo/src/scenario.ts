/**
 * Fault scenarios: a JSON timeline of faults on a nominal duration, scaled to the run's
 * duration. Shipped ones live in apps/demo/scenarios/<name>.json.
 *
 * ```json
 * { "name": "quick", "durationS": 4, "faults": [
 *   { "type": "crash", "replica": 0, "at": 0.8, "for": 1 }, ... ] }
 * ```
 * - `crash`: SIGKILL at `at`, restarted on the same port after `for` seconds;
 * - `hang`: SIGSTOP at `at` (sockets stay open), SIGCONT after `for`;
 * - `flaky`: a share `rate` of calls fail with a retryable "unavailable" error for `for`;
 * - `slow`: `delayMs` added to every call for `for`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type FaultType = 'crash' | 'hang' | 'flaky' | 'slow';
const FAULT_TYPES: readonly FaultType[] = ['crash', 'hang', 'flaky', 'slow'];

export interface FaultSpec {
  type: FaultType;
  replica: number;
  /** Start, seconds from the run's start on the nominal timeline. */
  at: number;
  /** Length, seconds on the nominal timeline. */
  for: number;
  /** flaky: share of calls that fail. Default 0.5. */
  rate?: number;
  /** slow: added latency, ms. Default 600. */
  delayMs?: number;
}

export interface Scenario {
  name: string;
  description?: string;
  /** The nominal duration its times refer to, seconds. */
  durationS: number;
  faults: FaultSpec[];
}

/** A fault placed on the actual run's timeline (ms from the start). */
export interface ScheduledFault extends FaultSpec {
  label: string;
  startMs: number;
  endMs: number;
}

export interface PhaseWindow {
  name: string;
  startMs: number;
  endMs: number;
}

export function scenariosDir(): string {
  return fileURLToPath(new URL('../scenarios/', import.meta.url));
}

export function listScenarios(): string[] {
  const dir = scenariosDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -5))
    .sort();
}

/** Loads a shipped scenario by name, or a JSON file by path. */
export function loadScenario(nameOrFile: string): Scenario {
  const byName = /^[a-z0-9-]+$/i.test(nameOrFile) ? `${scenariosDir()}${nameOrFile}.json` : undefined;
  const path = byName !== undefined && existsSync(byName) ? byName : nameOrFile;
  if (!existsSync(path)) {
    throw new Error(
      `no scenario "${nameOrFile}": give a file path or one of ${listScenarios().join(', ') || '(none found)'}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`scenario ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return validateScenario(raw, path);
}

export function validateScenario(raw: unknown, source = 'scenario'): Scenario {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  if (typeof raw !== 'object' || raw === null) fail('must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const name = typeof obj.name === 'string' ? obj.name : 'custom';
  const durationS = obj.durationS;
  if (typeof durationS !== 'number' || !(durationS > 0)) fail('durationS must be a positive number');
  if (!Array.isArray(obj.faults)) fail('faults must be an array');
  const faults = (obj.faults as unknown[]).map((entry, i): FaultSpec => {
    if (typeof entry !== 'object' || entry === null) fail(`faults[${i}] must be an object`);
    const f = entry as Record<string, unknown>;
    if (!FAULT_TYPES.includes(f.type as FaultType))
      fail(`faults[${i}].type must be one of ${FAULT_TYPES.join(', ')}`);
    if (!Number.isInteger(f.replica) || (f.replica as number) < 0)
      fail(`faults[${i}].replica must be a replica index (0, 1, …)`);
    if (typeof f.at !== 'number' || f.at < 0 || f.at >= (durationS as number))
      fail(`faults[${i}].at must be in [0, durationS)`);
    if (typeof f.for !== 'number' || !(f.for > 0))
      fail(`faults[${i}].for must be a positive number of seconds`);
    if (f.rate !== undefined && (typeof f.rate !== 'number' || f.rate < 0 || f.rate > 1))
      fail(`faults[${i}].rate must be in [0, 1]`);
    if (f.delayMs !== undefined && (typeof f.delayMs !== 'number' || f.delayMs < 0 || f.delayMs > 30_000))
      fail(`faults[${i}].delayMs must be in [0, 30000]`);
    return {
      type: f.type as FaultType,
      replica: f.replica as number,
      at: f.at as number,
      for: f.for as number,
      ...(typeof f.rate === 'number' && { rate: f.rate }),
      ...(typeof f.delayMs === 'number' && { delayMs: f.delayMs }),
    };
  });
  return {
    name,
    ...(typeof obj.description === 'string' && { description: obj.description }),
    durationS: durationS as number,
    faults,
  };
}

export function faultLabel(fault: FaultSpec): string {
  const detail =
    fault.type === 'flaky'
      ? ` ${Math.round((fault.rate ?? 0.5) * 100)}%`
      : fault.type === 'slow'
        ? ` +${fault.delayMs ?? 600}ms`
        : '';
  return `${fault.type} r${fault.replica}${detail}`;
}

/** Places the faults on a run of `durationMs`; every fault ends before the run does. */
export function schedule(scenario: Scenario, durationMs: number, replicas: number): ScheduledFault[] {
  const scale = durationMs / (scenario.durationS * 1000);
  return scenario.faults.map((fault) => {
    if (fault.replica >= replicas) {
      throw new Error(
        `scenario ${scenario.name}: a ${fault.type} fault targets replica ${fault.replica}, but there are only ${replicas} (use --replicas ${fault.replica + 1} or more)`,
      );
    }
    const startMs = Math.round(fault.at * 1000 * scale);
    const endMs = Math.min(Math.round((fault.at + fault.for) * 1000 * scale), durationMs);
    return { ...fault, label: faultLabel(fault), startMs, endMs };
  });
}

/** Cuts the run into phases: stretches with the same set of active faults. */
export function phaseWindows(faults: readonly ScheduledFault[], durationMs: number): PhaseWindow[] {
  const cuts = new Set<number>([0, durationMs]);
  for (const fault of faults) {
    cuts.add(fault.startMs);
    cuts.add(fault.endMs);
  }
  const points = [...cuts].filter((t) => t >= 0 && t <= durationMs).sort((a, b) => a - b);
  const windows: PhaseWindow[] = [];
  let seenFault = false;
  for (let i = 0; i + 1 < points.length; i++) {
    const startMs = points[i]!;
    const endMs = points[i + 1]!;
    const active = faults.filter((f) => f.startMs <= startMs && f.endMs > startMs).map((f) => f.label);
    if (active.length > 0) seenFault = true;
    const name = active.length > 0 ? active.join(' + ') : seenFault ? 'no fault' : 'warm-up';
    const last = windows[windows.length - 1];
    if (last !== undefined && last.name === name) last.endMs = endMs;
    else windows.push({ name, startMs, endMs });
  }
  return windows;
}
