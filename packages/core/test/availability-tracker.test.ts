import { describe, expect, it } from 'vitest';
import {
  AvailabilityInputError,
  AvailabilityTracker,
  classifyOutcome,
  steadyStateAvailability,
  wilsonInterval,
} from '../src/availability/index.js';
import { RpcError } from '../src/errors/rpc-error.js';
import { TypedEmitter } from '../src/events/emitter.js';
import type { ClientEvents, EndpointState } from '../src/events/types.js';
import { ManualClock } from '../src/testing/manual-clock.js';
import { seededRandom } from '../src/util/random.js';

const A = 'http://a:1/rpc';
const B = 'http://b:1/rpc';
const C = 'http://c:1/rpc';

function setup(start = 0) {
  const clock = new ManualClock(start);
  const emitter = new TypedEmitter();
  const tracker = new AvailabilityTracker({ clock });
  const detach = tracker.attach(emitter);
  let callId = 0;
  const attempt = (
    id: number,
    endpoint: string,
    attemptNo: number,
    outcome: ClientEvents['attempt-result']['outcome'],
    error?: RpcError,
  ) =>
    emitter.emit('attempt-result', {
      at: clock.now(),
      callId: id,
      method: 'm',
      endpoint,
      attempt: attemptNo,
      outcome,
      latencyMs: 1,
      ...(error === undefined ? {} : { error }),
    });
  const call = (id: number, ok: boolean, attempts: number, error?: RpcError, endpoint?: string) =>
    emitter.emit('call', {
      at: clock.now(),
      callId: id,
      method: 'm',
      ok,
      latencyMs: 1,
      attempts,
      endpoint,
      ...(error === undefined ? {} : { error }),
    });
  const state = (endpoint: string, from: EndpointState, to: EndpointState) =>
    emitter.emit('endpoint-state', { at: clock.now(), endpoint, from, to, reason: 'test' });
  const added = (endpoint: string) => emitter.emit('endpoint-added', { at: clock.now(), endpoint });
  const removed = (endpoint: string) => emitter.emit('endpoint-removed', { at: clock.now(), endpoint });
  const nextId = () => ++callId;
  return { clock, emitter, tracker, detach, attempt, call, state, added, removed, nextId };
}

describe('AvailabilityTracker: call availability', () => {
  it('counts calls, ignores cancellations and reports a Wilson interval', () => {
    const t = setup();
    for (let i = 0; i < 90; i++) t.call(t.nextId(), true, 1);
    for (let i = 0; i < 10; i++) t.call(t.nextId(), false, 1, new RpcError('timeout', 'late'));
    for (let i = 0; i < 5; i++) t.call(t.nextId(), false, 1, new RpcError('cancelled', 'caller gave up'));
    const report = t.tracker.report();
    expect(report.measured.calls).toBe(100);
    expect(report.measured.succeeded).toBe(90);
    expect(report.measured.failed).toBe(10);
    expect(report.measured.ignored).toBe(5);
    expect(report.measured.availability).toBe(0.9);
    expect(report.measured.interval).toEqual(wilsonInterval(90, 100));
    expect(report.measured.byOutcome).toEqual({ success: 90, timeout: 10, cancelled: 5 });
  });

  it('counts an application (remote) error as available unless the server marked it retryable', () => {
    expect(classifyOutcome('remote')).toBe('up');
    expect(classifyOutcome('remote', { retryable: true })).toBe('down');
    expect(classifyOutcome('cancelled')).toBe('ignore');
    for (const kind of ['not-sent', 'rejected', 'timeout', 'connection-lost', 'protocol'] as const) {
      expect(classifyOutcome(kind)).toBe('down');
    }
    const t = setup();
    t.call(t.nextId(), false, 1, new RpcError('remote', 'bad params', { code: -32602 }));
    t.call(t.nextId(), false, 1, new RpcError('remote', 'overloaded', { retryable: true }));
    const report = t.tracker.report();
    expect(report.measured.calls).toBe(2);
    expect(report.measured.succeeded).toBe(1);
  });

  it('honours a custom classifier and z', () => {
    const clock = new ManualClock();
    const tracker = new AvailabilityTracker({
      clock,
      classify: (o) => (o === 'success' ? 'up' : 'down'),
      z: 3,
    });
    tracker.recordCall({ ok: true });
    tracker.recordCall({ ok: false, outcome: 'remote' });
    const report = tracker.report();
    expect(report.measured.availability).toBe(0.5);
    expect(report.z).toBe(3);
    expect(report.measured.interval).toEqual(wilsonInterval(1, 2, 3));
    expect(tracker.report({ z: 1 }).measured.interval).toEqual(wilsonInterval(1, 2, 1));
  });
});

describe('AvailabilityTracker: attempts, α, coverage β and retries', () => {
  it('measures per-endpoint attempt availability and α', () => {
    const t = setup();
    for (let i = 0; i < 8; i++) t.attempt(t.nextId(), A, 1, 'success');
    for (let i = 0; i < 2; i++) t.attempt(t.nextId(), A, 1, 'timeout');
    for (let i = 0; i < 10; i++) t.attempt(t.nextId(), B, 1, 'success');
    t.attempt(t.nextId(), B, 2, 'cancelled'); // a hedge's losing copy
    const report = t.tracker.report();
    expect(report.perEndpoint[A]).toMatchObject({ attempts: 10, succeeded: 8, failed: 2, availability: 0.8 });
    expect(report.perEndpoint[A]?.interval).toEqual(wilsonInterval(8, 10));
    expect(report.perEndpoint[B]).toMatchObject({
      attempts: 11,
      succeeded: 10,
      failed: 0,
      ignored: 1,
      availability: 1,
    });
    expect(report.alpha.value).toBe(0.1);
    expect(report.alpha.attempts).toBe(20);
    expect(report.alpha.failed).toBe(2);
    const [lo, hi] = wilsonInterval(18, 20);
    expect(report.alpha.interval[0]).toBeCloseTo(1 - hi, 15);
    expect(report.alpha.interval[1]).toBeCloseTo(1 - lo, 15);
    expect(report.attempts).toMatchObject({ attempts: 21, succeeded: 18, failed: 2, ignored: 1 });
  });

  it('learns coverage from first attempts, robust to hedges and out-of-order results', () => {
    const t = setup();
    // 1: first attempt fails, retried on B, succeeds → covered
    let id = t.nextId();
    t.attempt(id, A, 1, 'timeout');
    t.attempt(id, B, 2, 'success');
    t.call(id, true, 2);
    // 2: first attempt fails, not retried → uncovered
    id = t.nextId();
    t.attempt(id, A, 1, 'not-sent');
    t.call(id, false, 1, new RpcError('not-sent', 'refused'));
    // 3: plain success
    id = t.nextId();
    t.attempt(id, B, 1, 'success');
    t.call(id, true, 1);
    // 4: hedged: the hedge (attempt 2) fails first, then the original succeeds → first attempt did not fail
    id = t.nextId();
    t.attempt(id, A, 2, 'connection-lost');
    t.attempt(id, B, 1, 'success');
    t.call(id, true, 2);
    const report = t.tracker.report();
    expect(report.coverage).toEqual({ value: 0.5, firstAttemptFailures: 2, retried: 1 });
    expect(report.retries).toEqual({ total: 2, perCall: 0.5, max: 1 });
  });

  it('infers coverage for calls recorded by hand', () => {
    const tracker = new AvailabilityTracker({ clock: new ManualClock() });
    tracker.recordCall({ ok: true, attempts: 3 });
    tracker.recordCall({ ok: false, attempts: 1, outcome: 'timeout' });
    tracker.recordCall({ ok: true });
    tracker.recordAttempt({ endpoint: A, ok: false });
    tracker.recordAttempt({ endpoint: A, outcome: 'success' });
    const report = tracker.report();
    expect(report.coverage).toEqual({ value: 0.5, firstAttemptFailures: 2, retried: 1 });
    expect(report.retries.max).toBe(2);
    expect(report.alpha.value).toBe(0.5);
  });

  it('keeps per-call memory bounded when call events never come', () => {
    const clock = new ManualClock();
    const emitter = new TypedEmitter();
    const tracker = new AvailabilityTracker({ clock, maxPendingCalls: 3 });
    tracker.attach(emitter);
    for (let id = 0; id < 100; id++) {
      emitter.emit('attempt-result', {
        at: 0,
        callId: id,
        method: 'm',
        endpoint: A,
        attempt: 1,
        outcome: 'success',
        latencyMs: 1,
      });
    }
    expect((tracker as unknown as { pendingCalls: Map<number, unknown> }).pendingCalls.size).toBe(3);
    expect(tracker.report().attempts.attempts).toBe(100);
  });
});

describe('AvailabilityTracker: MTBF, MTTR and detection', () => {
  function outageScript() {
    const t = setup();
    t.added(A);
    t.clock.advance(10_000);
    t.state(A, 'healthy', 'suspect'); // failure 1 at 10 s
    t.clock.advance(500);
    t.state(A, 'suspect', 'down'); // still the same failure
    t.clock.advance(1500);
    t.state(A, 'down', 'healthy'); // repair 1 at 12 s (down 2 s)
    t.clock.advance(18_000);
    t.state(A, 'healthy', 'down'); // failure 2 at 30 s
    t.clock.advance(1000);
    t.state(A, 'down', 'probing');
    t.clock.advance(2000);
    t.state(A, 'probing', 'healthy'); // repair 2 at 33 s (down 3 s)
    t.clock.advance(7000); // now 40 s
    return t;
  }

  it('derives MTBF and MTTR from state transitions', () => {
    const t = outageScript();
    const report = t.tracker.report();
    const a = report.perEndpoint[A]!;
    expect(a).toMatchObject({ state: 'healthy', failures: 2, repairs: 2, upMs: 35_000, downMs: 5000 });
    expect(a.mtbfMs).toBe(17_500);
    expect(a.mttrMs).toBe(2500);
    expect(a.timeAvailability).toBe(0.875);
    expect(report.mtbfMs).toBe(17_500);
    expect(report.mttrMs).toBe(2500);
    expect(report.windowMs).toBe(40_000);
  });

  it('counts the open interval up to now, and stops counting a removed endpoint', () => {
    const t = setup();
    t.added(A);
    t.added(B);
    t.clock.advance(1000);
    t.state(A, 'healthy', 'down');
    t.clock.advance(4000);
    t.removed(B);
    t.clock.advance(5000);
    const report = t.tracker.report();
    expect(report.perEndpoint[A]).toMatchObject({
      state: 'down',
      upMs: 1000,
      downMs: 9000,
      failures: 1,
      repairs: 0,
    });
    expect(report.perEndpoint[A]?.mttrMs).toBeNull();
    expect(report.perEndpoint[B]).toMatchObject({ removed: true, upMs: 5000, downMs: 0 });
    expect(report.mttrMs).toBeNull();
    // Without a completed repair there is no steady-state prediction.
    expect(report.predicted.steadyState).toBeUndefined();
  });

  it('times detection from markFault to the next transition out of healthy', () => {
    const t = outageScript(); // A left healthy at 10 s (→ suspect) and 30 s (→ down)
    // After the fact: a fault at 9.2 s was detected at 10 s; one at 29.5 s at 30 s.
    const first = t.tracker.markFault(A, 29_500, 'sigstop A');
    expect(first.detectedAfterMs).toBe(500);
    // Ahead of time: a fault now (40 s), detected when A next leaves healthy.
    const pending = t.tracker.markFault(A, t.clock.now(), 'sigkill A');
    const other = t.tracker.markFault(B, t.clock.now());
    expect(pending.detectedAfterMs).toBeNull();
    t.clock.advance(1234);
    t.state(A, 'healthy', 'suspect');
    const report = t.tracker.report();
    expect(report.detections).toEqual([
      {
        fault: 'sigstop A',
        endpoint: A,
        faultAt: 29_500,
        detectedAt: 30_000,
        detectedAfterMs: 500,
        detectedAs: 'down',
      },
      {
        fault: 'sigkill A',
        endpoint: A,
        faultAt: 40_000,
        detectedAt: 41_234,
        detectedAfterMs: 1234,
        detectedAs: 'suspect',
      },
      {
        fault: other.fault,
        endpoint: B,
        faultAt: 40_000,
        detectedAt: null,
        detectedAfterMs: null,
        detectedAs: null,
      },
    ]);
    expect(other.fault).toBe('fault-3');
    expect(report.detection).toEqual({ faults: 3, detected: 2, meanMs: 867, maxMs: 1234 });
  });

  it('a transition before the fault is not its detection', () => {
    const t = setup();
    t.clock.advance(100);
    t.state(A, 'healthy', 'down');
    t.clock.advance(100);
    t.state(A, 'down', 'healthy');
    const record = t.tracker.markFault(A, 150);
    expect(record.detectedAt).toBeNull();
    t.clock.advance(50);
    t.state(A, 'healthy', 'ejected');
    expect(record).toMatchObject({ detectedAt: 250, detectedAfterMs: 100, detectedAs: 'ejected' });
  });

  it('feeds the steady-state prediction with detection time moved from up time to repair time', () => {
    const t = outageScript();
    t.tracker.markFault(A, 9_000, 'f1'); // detected after 1000 ms
    t.tracker.markFault(A, 29_000, 'f2'); // detected after 1000 ms
    const report = t.tracker.report({ replicas: 3 });
    const inputs = { mtbfMs: 17_500 - 1000, detectMs: 1000, repairMs: 2500 };
    expect(report.predicted.steadyState?.inputs).toEqual(inputs);
    expect(report.predicted.steadyState?.value).toBe(steadyStateAvailability(inputs));
    expect(report.predicted.steadyState?.comparedWith).toBe('attempts');
    expect(report.predicted.steadyStateHa?.inputs).toEqual({ a1: steadyStateAvailability(inputs), m: 3 });
  });

  it('uses state transitions recorded by hand', () => {
    const clock = new ManualClock(1000);
    const tracker = new AvailabilityTracker({ clock });
    clock.advance(100);
    tracker.recordEndpointState({ endpoint: C, to: 'down' });
    clock.advance(100);
    tracker.recordEndpointState({ endpoint: C, to: 'healthy' });
    tracker.recordEndpointState({ endpoint: C, to: 'healthy', at: 1250 }); // no change
    const report = tracker.report();
    expect(report.perEndpoint[C]).toMatchObject({ failures: 1, repairs: 1, upMs: 100, downMs: 100 });
  });
});

describe('AvailabilityTracker: predictions beside the measurement', () => {
  it('computes each model from the measured inputs, with the inputs', () => {
    const t = setup();
    t.added(A);
    t.added(B);
    t.added(C);
    // α = 0.1 over 20 attempts; 10 calls, β = 1 (both first-attempt failures retried), max 1 retry
    for (let i = 0; i < 8; i++) {
      const id = t.nextId();
      t.attempt(id, A, 1, 'success');
      t.call(id, true, 1);
    }
    for (let i = 0; i < 2; i++) {
      const id = t.nextId();
      t.attempt(id, B, 1, 'timeout');
      t.attempt(id, C, 2, 'success');
      t.call(id, true, 2);
    }
    for (let i = 0; i < 8; i++) t.attempt(1000 + i, C, 1, 'success');
    const report = t.tracker.report();
    const alpha = 0.1;
    expect(report.alpha.value).toBe(alpha);
    const p = report.predicted;
    // Expected values computed by hand, not with the models under test: α = 0.1, β = 1, n = 1, m = 3.
    expect(p.spo?.inputs).toEqual({ alpha, beta: 1, n: 1 });
    expect(p.spo?.value).toBeCloseTo(0.9, 12); // 1 − β + β·(1 − α)^1
    expect(p.retry?.inputs).toEqual({ alpha, beta: 1, n: 1 });
    expect(p.retry?.value).toBeCloseTo(0.99, 12); // 1 − α·α
    expect(p.failover?.inputs).toEqual({ alpha, beta: 1, n: 1, m: 3 });
    expect(p.failover?.value).toBeCloseTo(0.99, 12); // min(n, m − 1) = 1
    expect(p.ha?.inputs).toEqual({ a1: 0.9, m: 3 });
    expect(p.ha?.value).toBeCloseTo(0.999, 12); // 1 − 0.1³
    expect(p.kOfN).toBeUndefined();
    expect(p.commonMode).toBeUndefined();
    // measured: 10/10 → Wilson 95 % interval [0.7225, 1]: 0.9, 0.99 and 0.999 are all inside
    expect(report.measured.interval[0]).toBeCloseTo(0.72246, 4);
    expect(report.measured.interval[1]).toBe(1);
    for (const prediction of [p.spo, p.retry, p.failover, p.ha]) {
      expect(prediction?.comparedWith).toBe('calls');
      expect(prediction?.withinInterval).toBe(true);
    }

    const given = t.tracker.report({ replicas: 5, retries: 3, beta: 0.5, quorum: 3, commonModeFactor: 0.1 });
    expect(given.predicted.retry?.inputs).toEqual({ alpha, beta: 0.5, n: 3 });
    expect(given.predicted.failover?.inputs).toEqual({ alpha, beta: 0.5, n: 3, m: 5 });
    expect(given.predicted.kOfN?.inputs).toEqual({ a: 0.9, k: 3, n: 5 });
    // Σ_{i=3..5} C(5, i)·0.9^i·0.1^(5−i) = 0.0729 + 0.32805 + 0.59049
    expect(given.predicted.kOfN?.value).toBeCloseTo(0.99144, 12);
    expect(given.predicted.commonMode?.inputs).toEqual({ a1: 0.9, m: 5, commonModeFactor: 0.1 });
  });

  it('a simulated deployment lands inside the retry and failover predictions and outside the seed SPO', () => {
    const t = setup();
    const endpoints = [A, B, C];
    for (const e of endpoints) t.added(e);
    const random = seededRandom(42);
    const alpha = 0.1;
    for (let i = 0; i < 5000; i++) {
      const id = t.nextId();
      const start = Math.floor(random() * 3);
      let attempts = 0;
      let ok = false;
      for (let k = 0; k < 3 && !ok; k++) {
        attempts++;
        ok = random() >= alpha;
        t.attempt(id, endpoints[(start + k) % 3]!, k + 1, ok ? 'success' : 'timeout');
      }
      t.call(id, ok, attempts, ok ? undefined : new RpcError('timeout', 'late'));
    }
    const report = t.tracker.report({ retries: 2 });
    expect(report.alpha.interval[0]).toBeLessThanOrEqual(alpha);
    expect(report.alpha.interval[1]).toBeGreaterThanOrEqual(alpha);
    expect(report.coverage.value).toBe(1);
    expect(report.predicted.retry?.withinInterval).toBe(true);
    expect(report.predicted.failover?.withinInterval).toBe(true);
    expect(report.predicted.ha?.withinInterval).toBe(true);
    // The seed's SPO formula predicts (1 − α)^2 ≈ 0.81 for two recovery attempts: far off.
    expect(report.predicted.spo?.withinInterval).toBe(false);
  });

  it('has no predictions before there is data', () => {
    const tracker = new AvailabilityTracker({ clock: new ManualClock() });
    const report = tracker.report();
    expect(report.predicted).toEqual({});
    expect(report.measured.availability).toBeNull();
    expect(report.measured.interval).toEqual([0, 1]);
    expect(report.alpha.value).toBeNull();
    expect(report.coverage.value).toBeNull();
    expect(report.retries.perCall).toBeNull();
  });

  it('validates report options', () => {
    const tracker = new AvailabilityTracker({ clock: new ManualClock() });
    tracker.recordAttempt({ endpoint: A, ok: true });
    expect(() => tracker.report({ replicas: 0 })).toThrow(AvailabilityInputError);
    expect(() => tracker.report({ retries: -1 })).toThrow(/retries/);
    expect(() => tracker.report({ beta: 2 })).toThrow(/beta/);
    expect(() => tracker.report({ replicas: 2, quorum: 3 })).toThrow(/quorum/);
    expect(() => tracker.report({ commonModeFactor: Number.NaN })).toThrow(/commonModeFactor/);
    expect(() => tracker.report({ z: 0 })).toThrow(/z/);
    expect(() => new AvailabilityTracker({ z: -1 })).toThrow(AvailabilityInputError);
    expect(() => tracker.markFault(A, Number.NaN)).toThrow(/atMs/);
  });
});

describe('AvailabilityTracker: report shape, attach and reset', () => {
  it('returns a plain JSON-serialisable object', () => {
    const t = setup();
    t.added(A);
    t.clock.advance(100);
    t.attempt(1, A, 1, 'timeout', new RpcError('timeout', 'late'));
    t.call(1, false, 1, new RpcError('timeout', 'late'));
    t.state(A, 'healthy', 'down');
    t.tracker.markFault(A, 50, 'kill');
    t.clock.advance(100);
    t.state(A, 'down', 'healthy');
    const report = t.tracker.report({ quorum: 1, commonModeFactor: 0.05 });
    expect(JSON.parse(JSON.stringify(report))).toStrictEqual(report);
    expect(Object.keys(report).sort()).toEqual(
      [
        'alpha',
        'at',
        'attempts',
        'coverage',
        'detection',
        'detections',
        'measured',
        'mtbfMs',
        'mttrMs',
        'perEndpoint',
        'predicted',
        'retries',
        'windowMs',
        'z',
      ].sort(),
    );
    expect(Object.keys(report.predicted).sort()).toEqual(
      ['commonMode', 'failover', 'ha', 'kOfN', 'retry', 'spo', 'steadyState', 'steadyStateHa'].sort(),
    );
    // A report is a snapshot: later events do not change it.
    const snapshot = JSON.stringify(report);
    t.call(2, true, 1);
    expect(JSON.stringify(report)).toBe(snapshot);
  });

  it('attach subscribes to five events and detach removes them (twice is harmless)', () => {
    const t = setup();
    expect(t.emitter.listenerCount()).toBe(5);
    t.call(1, true, 1);
    t.detach();
    t.detach();
    expect(t.emitter.listenerCount()).toBe(0);
    t.call(2, true, 1);
    expect(t.tracker.report().measured.calls).toBe(1);
  });

  it('observe feeds raw events and ignores the ones it does not use', () => {
    const tracker = new AvailabilityTracker({ clock: new ManualClock() });
    tracker.observe('retry', {
      at: 0,
      callId: 1,
      method: 'm',
      attempt: 1,
      delayMs: 5,
      cause: new RpcError('timeout', 'x'),
    });
    tracker.observe('call', {
      at: 0,
      callId: 1,
      method: 'm',
      ok: true,
      latencyMs: 1,
      attempts: 1,
      endpoint: A,
    });
    expect(tracker.report().measured.calls).toBe(1);
  });

  it('reset forgets measurements but keeps endpoints in their state', () => {
    const t = setup();
    t.added(A);
    t.added(B);
    t.clock.advance(1000);
    t.state(A, 'healthy', 'down');
    t.call(1, true, 1);
    t.removed(B);
    t.tracker.markFault(A, 0);
    t.tracker.reset();
    t.clock.advance(500);
    const report = t.tracker.report();
    expect(report.measured.calls).toBe(0);
    expect(report.detections).toEqual([]);
    expect(report.windowMs).toBe(500);
    expect(Object.keys(report.perEndpoint)).toEqual([A]);
    expect(report.perEndpoint[A]).toMatchObject({ state: 'down', upMs: 0, downMs: 500, failures: 0 });
  });
});
