/**
 * The example service every replica runs: `echo(x)`, `add(a, b)` (positional or named),
 * `sleep(ms)`, `work(ms)`, the non-idempotent `charge({ id, amount })` whose executions are
 * counted, and the control methods `demo.stats` and `demo.fault`. Faults (a failing share of
 * calls, added latency) are switched by the demo's orchestrator over IPC, or by anyone through
 * `demo.fault` when the replica runs standalone (`pnpm demo serve`).
 */
import { type MethodTable, RpcError } from '@resilient-rpc/core';

/** The injected faults of one replica. */
export interface FaultState {
  /** Share of calls answered with a retryable "unavailable" error, before any work is done. */
  failRate: number;
  /** Latency added to every call, in ms. */
  delayMs: number;
}

/** What a replica counts. */
export interface ReplicaCounters {
  calls: number;
  /** Calls failed by the injected fault. */
  injectedFailures: number;
  /** Executions of the non-idempotent `charge`, by id (a value above 1 is a double execution). */
  charges: Record<string, number>;
  chargesExecuted: number;
}

export interface ServiceOptions {
  /** Called synchronously when a non-idempotent call executes, before it answers. */
  onExecute?: (id: string) => void;
  random?: () => number;
}

/** JSON-RPC code of the injected "unavailable" error (server error range). */
export const UNAVAILABLE_CODE = -32010;

const MAX_SLEEP_MS = 30_000;

function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function invalidParams(message: string): RpcError {
  return new RpcError('remote', message, { code: -32602 });
}

function finiteNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalidParams(`${name} must be a finite number`);
  return value;
}

function duration(value: unknown, name: string): number {
  const ms = finiteNumber(value, name);
  if (ms < 0 || ms > MAX_SLEEP_MS) throw invalidParams(`${name} must be in [0, ${MAX_SLEEP_MS}] ms`);
  return ms;
}

/** The example service: its method table, its fault switch and its counters. */
export function createService(options: ServiceOptions = {}) {
  const random = options.random ?? Math.random;
  const fault: FaultState = { failRate: 0, delayMs: 0 };
  const counters: ReplicaCounters = { calls: 0, injectedFailures: 0, charges: {}, chargesExecuted: 0 };

  /** Applies the injected faults to one call: maybe fail it, then add latency. */
  async function faults(signal: AbortSignal): Promise<void> {
    counters.calls++;
    if (fault.failRate > 0 && random() < fault.failRate) {
      counters.injectedFailures++;
      // Fails before doing anything, so it is safe to retry (the server says so).
      throw new RpcError('remote', 'injected fault: replica unavailable', {
        code: UNAVAILABLE_CODE,
        retryable: true,
      });
    }
    await delay(fault.delayMs, signal);
  }

  const methods: MethodTable = {
    echo: {
      paramNames: ['x'],
      handler: async ([x]: unknown[], ctx) => {
        await faults(ctx.signal);
        return x ?? null;
      },
    },
    add: {
      paramNames: ['a', 'b'],
      handler: async ([a, b]: unknown[], ctx) => {
        await faults(ctx.signal);
        return finiteNumber(a, 'a') + finiteNumber(b, 'b');
      },
    },
    sleep: {
      paramNames: ['ms'],
      handler: async ([ms]: unknown[], ctx) => {
        const wait = duration(ms, 'ms');
        await faults(ctx.signal);
        await delay(wait, ctx.signal);
        return wait;
      },
    },
    work: {
      paramNames: ['ms'],
      handler: async ([ms]: unknown[], ctx) => {
        const wait = duration(ms, 'ms');
        await faults(ctx.signal);
        // Simulated service time: a timer, so replicas stay light on a shared machine.
        await delay(wait, ctx.signal);
        return { ms: wait, pid: process.pid };
      },
    },
    charge: {
      paramNames: ['id', 'amount'],
      handler: async ([id, amount]: unknown[], ctx) => {
        if (typeof id !== 'string' || id.length === 0) throw invalidParams('id must be a non-empty string');
        const value = finiteNumber(amount, 'amount');
        await faults(ctx.signal);
        // The side effect: counted (and logged synchronously) before the answer goes out.
        counters.charges[id] = (counters.charges[id] ?? 0) + 1;
        counters.chargesExecuted++;
        options.onExecute?.(id);
        return { id, charged: value, executions: counters.charges[id] };
      },
    },
    'demo.stats': () => ({
      pid: process.pid,
      calls: counters.calls,
      injectedFailures: counters.injectedFailures,
      chargesExecuted: counters.chargesExecuted,
      fault: { ...fault },
    }),
    'demo.fault': {
      paramNames: ['failRate', 'delayMs'],
      handler: ([failRate, delayMs]: unknown[]) => {
        setFault({ failRate: finiteNumber(failRate, 'failRate'), delayMs: finiteNumber(delayMs, 'delayMs') });
        return { ...fault };
      },
    },
  };

  function setFault(next: Partial<FaultState>): void {
    if (next.failRate !== undefined) {
      if (!(next.failRate >= 0 && next.failRate <= 1)) throw invalidParams('failRate must be in [0, 1]');
      fault.failRate = next.failRate;
    }
    if (next.delayMs !== undefined) fault.delayMs = duration(next.delayMs, 'delayMs');
  }

  return { methods, fault, counters, setFault };
}
