import { describe, expect, it } from 'vitest';
import {
  HeartbeatMonitor,
  type HeartbeatOptions,
  type HeartbeatVerdict,
} from '../src/detection/heartbeat.js';
import { RpcError } from '../src/errors/rpc-error.js';
import { flushMicrotasks, ManualClock } from '../src/testing/manual-clock.js';

type Peer = 'answers' | 'silent' | 'refuses' | 'manual';

/** A monitor on a manual clock against a peer whose behaviour the test switches. */
function setup(options: Partial<HeartbeatOptions> = {}) {
  const clock = new ManualClock();
  const verdicts: HeartbeatVerdict[] = [];
  const pings: { at: number; signal: AbortSignal; timeoutMs: number }[] = [];
  const pending: (() => void)[] = [];
  const state = { peer: 'answers' as Peer };
  const monitor = new HeartbeatMonitor(
    (signal, timeoutMs) => {
      pings.push({ at: clock.now(), signal, timeoutMs });
      if (state.peer === 'answers') return Promise.resolve();
      if (state.peer === 'refuses') return Promise.reject(new Error('connection refused'));
      return new Promise<void>((resolve, reject) => {
        if (state.peer === 'manual') pending.push(resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
    (verdict) => verdicts.push(verdict),
    options,
    clock,
  );
  return { clock, monitor, verdicts, pings, pending, state };
}

describe('HeartbeatMonitor', () => {
  it('pings at once on start, then every interval, with the timeout and an abort signal', async () => {
    const { clock, monitor, pings } = setup({ intervalMs: 1_000, timeoutMs: 400 });
    monitor.start();
    await clock.advanceAsync(3_000, 100);
    expect(pings.map((ping) => ping.at)).toEqual([0, 1_000, 2_000, 3_000]);
    expect(pings[0]?.timeoutMs).toBe(400);
    monitor.stop();
  });

  it('never suspects a peer that answers every ping', async () => {
    const { clock, monitor, verdicts } = setup();
    monitor.start();
    await clock.advanceAsync(120_000, 100);
    expect(verdicts).toEqual([]);
    expect(monitor.verdict()).toMatchObject({ suspect: false, missed: 0 });
    expect(monitor.verdict().phi).toBeLessThan(1);
    monitor.stop();
  });

  it('phi rises on silence and makes the peer suspect before the missed count does', async () => {
    const { clock, monitor, verdicts, state } = setup({ maxMissed: 5 });
    monitor.start();
    await clock.advanceAsync(30_000, 100); // last answer at 30 000
    state.peer = 'silent';
    await clock.advanceAsync(1_250, 50);
    const phis: number[] = [];
    for (let step = 0; step < 4; step++) {
      await clock.advanceAsync(250, 50); // 1.5 s, 1.75 s, 2 s, 2.25 s of silence
      phis.push(monitor.verdict().phi);
    }
    for (let index = 1; index < phis.length; index++)
      expect(phis[index]).toBeGreaterThan(phis[index - 1] ?? 0);
    expect(verdicts).toEqual([]);
    await clock.advanceAsync(750, 50); // 3 s of silence; only 2 missed pings
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]?.suspect).toBe(true);
    expect(verdicts[0]?.reason).toMatch(/^phi .+ ≥ 8$/);
    monitor.stop();
  });

  it('suspects a peer after maxMissed missed heartbeats', async () => {
    const { clock, monitor, verdicts, state, pings } = setup({ maxMissed: 3 });
    state.peer = 'silent'; // never answered: phi has nothing to go on
    monitor.start();
    await clock.advanceAsync(2_999, 100);
    expect(verdicts).toEqual([]);
    await clock.advanceAsync(1, 1);
    expect(verdicts).toEqual([{ suspect: true, phi: 0, missed: 3, reason: '3 missed heartbeats' }]);
    const timedOut = pings[0]?.signal.reason;
    expect(RpcError.isInstance(timedOut) && timedOut.kind).toBe('timeout');
    monitor.stop();
  });

  it('counts a refused ping as missed', async () => {
    const { clock, monitor, verdicts, state } = setup({ maxMissed: 2 });
    state.peer = 'refuses';
    monitor.start();
    await clock.advanceAsync(1_000, 100);
    expect(verdicts).toMatchObject([{ suspect: true, missed: 2 }]);
    monitor.stop();
  });

  it('reports the peer healthy again when it answers, once per change', async () => {
    const { clock, monitor, verdicts, state } = setup();
    monitor.start();
    await clock.advanceAsync(10_000, 100);
    state.peer = 'silent';
    await clock.advanceAsync(10_000, 100);
    state.peer = 'answers';
    await clock.advanceAsync(10_000, 100);
    expect(verdicts.map((verdict) => verdict.suspect)).toEqual([true, false]);
    expect(verdicts[1]).toMatchObject({ missed: 0, reason: 'heartbeat answered' });
    monitor.stop();
  });

  it('counts any inbound traffic (alive) as a heartbeat', async () => {
    const { clock, monitor, verdicts, state } = setup();
    state.peer = 'silent'; // pings unanswered, but calls keep coming back
    monitor.start();
    for (let step = 0; step < 100; step++) {
      await clock.advanceAsync(300, 100);
      monitor.alive();
    }
    expect(verdicts).toEqual([]);
    expect(monitor.verdict().suspect).toBe(false);
    monitor.stop();
  });

  it('does not raise phi when the gap is our own event-loop stall', async () => {
    const { clock, monitor, verdicts } = setup();
    monitor.start();
    await clock.advanceAsync(30_000, 100);
    const before = monitor.verdict().phi;
    clock.jump(10_000); // a 10 s synchronous task on the client
    expect(monitor.verdict().phi).toBeLessThanOrEqual(before + 1e-9); // measured before the pong is read
    await flushMicrotasks();
    await clock.advanceAsync(5_000, 100);
    expect(verdicts).toEqual([]);
    expect(monitor.verdict()).toMatchObject({ suspect: false, missed: 0 });
    monitor.stop();
  });

  it('without stall compensation the same gap would make the peer suspect', async () => {
    const { clock, monitor, verdicts } = setup({ stallToleranceMs: Number.POSITIVE_INFINITY });
    monitor.start();
    await clock.advanceAsync(30_000, 100);
    clock.jump(10_000);
    expect(verdicts).toMatchObject([{ suspect: true }]);
    monitor.stop();
  });

  it('does not count a miss for a ping whose timeout fired late because we stalled', async () => {
    const { clock, monitor, verdicts, pending, state } = setup({ maxMissed: 1 });
    monitor.start();
    await clock.advanceAsync(10_000, 100);
    state.peer = 'manual';
    await clock.advanceAsync(1_000, 100); // a ping is out at 11 000
    clock.jump(5_000); // we stall; the answer arrives meanwhile but is read only after
    for (const resolve of pending) resolve();
    await flushMicrotasks();
    expect(verdicts).toEqual([]);
    expect(monitor.verdict()).toMatchObject({ suspect: false, missed: 0 });
    monitor.stop();
  });

  it('counts the late ping as missed when no answer comes within the grace', async () => {
    const { clock, monitor, verdicts, state } = setup({ maxMissed: 1 });
    monitor.start();
    await clock.advanceAsync(10_000, 100);
    state.peer = 'silent';
    await clock.advanceAsync(1_000, 100); // a ping is out at 11 000
    clock.jump(5_000); // its timeout fires 4 s late: grace, not a miss yet
    expect(verdicts).toEqual([]);
    await clock.advanceAsync(250, 10);
    expect(verdicts).toMatchObject([{ suspect: true, missed: 1 }]);
    monitor.stop();
  });

  it('stop() cancels its timers and aborts the ping in flight', async () => {
    const { clock, monitor, state, pings } = setup();
    state.peer = 'silent';
    monitor.start();
    expect(monitor.isRunning).toBe(true);
    monitor.stop();
    expect(monitor.isRunning).toBe(false);
    expect(pings[0]?.signal.aborted).toBe(true);
    expect(RpcError.isInstance(pings[0]?.signal.reason) && pings[0]?.signal.reason.kind).toBe('cancelled');
    expect(clock.pendingTimers).toBe(0);
    await clock.advanceAsync(10_000, 1_000);
    expect(pings).toHaveLength(1);
  });
});
