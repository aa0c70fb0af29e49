import { fileURLToPath } from 'node:url';
import { createClient } from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Attempt, Call } from '../src/client/call.js';
import { CANARY_NAMES, weakDeopts } from './fixtures/deopt-canary.js';
import { runScript } from './fixtures/run-script.js';
import { stubTransport } from './fixtures/stub-transport.js';

/** A manual clock that counts its reads and its timers. */
class CountingClock extends ManualClock {
  reads = 0;
  timersStarted = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
  override setTimeout(callback: () => void, delayMs: number) {
    this.timersStarted++;
    return super.setTimeout(callback, delayMs);
  }
}

const RealAbortController = globalThis.AbortController;
afterEach(() => {
  globalThis.AbortController = RealAbortController;
});

describe('the cost of a call (issue 15: the pipeline skeleton, not the policies, was the cost)', () => {
  it('creates no AbortController for a transport that does not read the signal', async () => {
    let created = 0;
    globalThis.AbortController = class extends RealAbortController {
      constructor() {
        super();
        created++;
      }
    };
    const client = createClient({ transports: [stubTransport()], endpoints: ['stub://a'], heartbeat: false });
    for (let index = 0; index < 100; index++) await client.call('noop');
    expect(created).toBe(0);
    await client.close();
  });

  it('reads the clock twice per call with one attempt (start and answer), at defaults', async () => {
    const clock = new CountingClock(1_000);
    const client = createClient({
      transports: [stubTransport()],
      endpoints: ['stub://a', 'stub://b', 'stub://c'],
      clock,
      heartbeat: false,
    });
    await client.call('noop'); // warm-up: the first call arms the shared timers
    clock.reads = 0;
    for (let index = 0; index < 100; index++) await client.call('noop');
    expect(clock.reads).toBeLessThanOrEqual(200);
    await client.close();
  });

  it('times every pending call with one shared timer, not one timer per call', async () => {
    const clock = new CountingClock(1_000);
    const client = createClient({
      transports: [stubTransport(true)],
      endpoints: ['stub://a'],
      clock,
      heartbeat: false,
      stallDetection: false,
    });
    const pending = Array.from({ length: 1_000 }, () =>
      client.call('noop').catch((error: { kind: string }) => error),
    );
    expect(clock.timersStarted).toBe(1);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(10_001);
    const outcomes = await Promise.all(pending);
    expect(outcomes.every((error) => (error as { kind: string }).kind === 'timeout')).toBe(true);
    await client.close();
  });
});

describe('a full GC between calls (issue 15)', () => {
  it('does not deoptimise the call path: the shapes of the per-call classes outlive their instances', async () => {
    const script = fileURLToPath(new URL('./fixtures/gc-between-calls.ts', import.meta.url));
    // --allow-natives-syntax: the canary is optimised at once (see readyCanary), as in
    // server-shape-keepers.test.ts, so a loaded machine does not fail the control.
    const flags = ['--expose-gc', '--trace-deopt', '--allow-natives-syntax'];
    const { code, stdout: trace } = await runScript(script, [], flags);
    expect(code).toBe(0);
    // V8 marks optimised code for deoptimisation when an object it embeds weakly (a shape) died;
    // only the call path's own functions count (not the runtime's, nor tsx's).
    const callPath = new Set(['Call', 'Attempt', 'call', 'callOf', 'run']);
    for (const type of [Call, Attempt])
      for (const [name, property] of Object.entries(Object.getOwnPropertyDescriptors(type.prototype)))
        callPath.add(property.get === undefined ? name : `get ${name}`);
    const weak = weakDeopts(trace);
    // The control: a function over a class whose instances all died is deoptimised and seen.
    expect(weak.filter((name) => CANARY_NAMES.includes(name))).not.toEqual([]);
    expect(callPath.has('settle')).toBe(true);
    expect(weak.filter((name) => callPath.has(name))).toEqual([]);
  }, 60_000);
});
