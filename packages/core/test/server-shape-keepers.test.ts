import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RequestScope } from '../src/server/request-scope.js';
import { PendingCall, PendingCalls } from '../src/transport-support/pending-calls.js';
import { CANARY_NAMES, weakDeopts } from './fixtures/deopt-canary.js';
import { runScript } from './fixtures/run-script.js';

/** The names `--trace-deopt` gives the methods, getters and constructor of `types`. */
function namesOf(...types: (abstract new (...args: never[]) => unknown)[]): Set<string> {
  const names = new Set<string>();
  for (const type of types) {
    names.add(type.name);
    for (const [name, property] of Object.entries(Object.getOwnPropertyDescriptors(type.prototype)))
      names.add(property.get === undefined ? name : `get ${name}`);
  }
  return names;
}

describe('a full GC while no request is under way', () => {
  it('does not deoptimise the dispatch path nor the pending-call table (their shapes are kept)', async () => {
    const script = fileURLToPath(new URL('./fixtures/gc-between-requests.ts', import.meta.url));
    // --allow-natives-syntax: the canary is optimised at once, with no background job left to
    // hold its shapes at the GC (see readyCanary): a loaded machine no longer fails the control.
    const flags = ['--expose-gc', '--trace-deopt', '--allow-natives-syntax'];
    const { code, stdout: trace } = await runScript(script, [], flags);
    expect(code).toBe(0);
    const weak = weakDeopts(trace);
    // The control: a function over a class whose instances all died is deoptimised and seen.
    expect(weak.filter((name) => CANARY_NAMES.includes(name))).not.toEqual([]);
    const ours = namesOf(RequestScope, PendingCall, PendingCalls);
    expect(ours.has('resolve') && ours.has('get expired')).toBe(true);
    // `get signal` is left out: it creates the platform's AbortSignal, whose own shapes (Node's,
    // not ours) die with the last signal; keeping a signal alive does not keep them.
    ours.delete('get signal');
    expect(weak.filter((name) => ours.has(name))).toEqual([]);
  }, 60_000);
});
