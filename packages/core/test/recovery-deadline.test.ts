import {
  createClient,
  createServer,
  MAX_DEADLINE_MS,
  seededRandom,
  systemClock,
  validateDeadlineMs,
} from '@resilient-rpc/core';
import { ManualClock, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, expect, it, vi } from 'vitest';
import { DeadlineTimer } from '../src/recovery/deadline.js';

/** A clock whose one timer records every keep-alive state asked of it (at arming, then changes). */
function keepAliveClock() {
  const keepAlive = vi.fn();
  const clock = {
    now: () => 0,
    setTimeout: vi.fn((_callback: () => void, _delay: number, options?: { keepAlive?: boolean }) => {
      keepAlive(options?.keepAlive);
      return { cancel: vi.fn(), keepAlive };
    }),
  };
  return { keepAlive, clock };
}

describe('validateDeadlineMs', () => {
  it('accepts any finite positive deadline up to the limit, 24 h included', () => {
    expect(validateDeadlineMs(1, 'deadlineMs', false)).toBe(1);
    expect(validateDeadlineMs(24 * 3_600_000, 'deadlineMs', false)).toBe(86_400_000);
    expect(validateDeadlineMs(2 ** 31, 'deadlineMs', false)).toBe(2 ** 31);
    expect(validateDeadlineMs(MAX_DEADLINE_MS, 'deadlineMs', false)).toBe(MAX_DEADLINE_MS);
  });

  it('rejects NaN, negative, zero, non-numbers and too-long deadlines with a TypeError naming the value', () => {
    for (const bad of [Number.NaN, -1, 0, '100', null, MAX_DEADLINE_MS + 1]) {
      expect(() => validateDeadlineMs(bad, 'deadlineMs', false), String(bad)).toThrow(TypeError);
    }
    expect(() => validateDeadlineMs('100', 'deadlineMs', false)).toThrow(/the string "100"/);
  });

  it('accepts Infinity only when "no deadline" is allowed', () => {
    expect(() => validateDeadlineMs(Number.POSITIVE_INFINITY, 'deadlineMs', false)).toThrow(
      /allowNoDeadline/,
    );
    expect(validateDeadlineMs(Number.POSITIVE_INFINITY, 'deadlineMs', true)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('DeadlineTimer', () => {
  it('times many deadlines with one clock timer, in order, and forgets removed ones', () => {
    const clock = new ManualClock();
    const timer = new DeadlineTimer(clock);
    const fired: number[] = [];
    const entries = [300, 100, 200, 400].map((at) => ({
      deadlineAt: at,
      deadlineSlot: -1,
      onDeadline: () => fired.push(at),
    }));
    for (const entry of entries) timer.add(entry);
    expect(clock.pendingTimers).toBe(1);
    timer.remove(entries[2]!); // 200
    clock.advance(1_000);
    expect(fired).toEqual([100, 300, 400]);
    expect(timer.size).toBe(0);
  });

  it('fires hundreds of entries added and removed in random order at their deadlines, in order', () => {
    const clock = new ManualClock();
    const timer = new DeadlineTimer(clock);
    const random = seededRandom(7);
    const fired: number[] = [];
    const live = new Set<{ deadlineAt: number; deadlineSlot: number; onDeadline(): void }>();
    // Enough entries to outgrow the timer's first key array several times; equal deadlines too.
    for (let index = 0; index < 600; index++) {
      const entry = {
        deadlineAt: 1 + Math.floor(random() * 400),
        deadlineSlot: -1,
        onDeadline: () => {
          fired.push(entry.deadlineAt);
          live.delete(entry);
        },
      };
      timer.add(entry);
      live.add(entry);
      if (random() < 0.4) {
        const victims = [...live];
        const victim = victims[Math.floor(random() * victims.length)]!;
        timer.remove(victim);
        timer.remove(victim); // harmless twice
        live.delete(victim);
      }
    }
    expect(timer.size).toBe(live.size);
    const expected = [...live].map((entry) => entry.deadlineAt).sort((a, b) => a - b);
    for (let at = 1; at <= 400; at++) {
      clock.advance(1);
      // Every entry due by now has fired, none later.
      expect(fired.length).toBe(expected.filter((deadline) => deadline <= clock.now()).length);
    }
    expect(fired).toEqual(expected);
    expect(timer.size).toBe(0);
  });

  it('keeps the process alive only while something is pending', () => {
    const { keepAlive, clock } = keepAliveClock();
    const timer = new DeadlineTimer(clock);
    const entry = { deadlineAt: 10_000, deadlineSlot: -1, onDeadline: () => {} };
    timer.add(entry);
    expect(keepAlive).toHaveBeenLastCalledWith(true);
    timer.remove(entry);
    expect(keepAlive).toHaveBeenLastCalledWith(false);
    timer.add({ ...entry, deadlineSlot: -1 });
    expect(keepAlive).toHaveBeenLastCalledWith(true);
    expect(clock.setTimeout).toHaveBeenCalledTimes(1); // re-used, not re-armed
  });

  it('with keepAlive: false (the server), never keeps the process alive', () => {
    const { keepAlive, clock } = keepAliveClock();
    const timer = new DeadlineTimer(clock, { keepAlive: false });
    const entry = { deadlineAt: 10_000, deadlineSlot: -1, onDeadline: () => {} };
    timer.add(entry);
    timer.remove(entry);
    timer.add({ ...entry, deadlineSlot: -1 });
    timer.hold();
    timer.release();
    expect(keepAlive).toHaveBeenCalled();
    expect(keepAlive.mock.calls.every(([value]) => value !== true)).toBe(true);
  });

  it('once the client closes, cancels its clock timer when the last pending deadline goes, leaving none behind', () => {
    const clock = new ManualClock();
    const timer = new DeadlineTimer(clock);
    const first = { deadlineAt: 500, deadlineSlot: -1, onDeadline: () => {} };
    const second = { deadlineAt: 900, deadlineSlot: -1, onDeadline: () => {} };
    timer.add(first);
    timer.add(second);
    timer.remove(first);
    timer.stopWhenIdle();
    expect(clock.pendingTimers).toBe(1); // the second call still has its deadline
    timer.remove(second);
    expect(clock.pendingTimers).toBe(0);
    // A timer left armed after its last entry went (to save re-arming) is cancelled at once.
    const idle = new DeadlineTimer(clock);
    const entry = { deadlineAt: 100, deadlineSlot: -1, onDeadline: () => {} };
    idle.add(entry);
    idle.remove(entry);
    expect(clock.pendingTimers).toBe(1);
    idle.stopWhenIdle();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('client deadlines', () => {
  async function hungClient(options: Record<string, unknown> = {}, clock = new ManualClock()) {
    const network = new MemoryNetwork(clock);
    const server = createServer({ clock, methods: { work: () => 'ok' } });
    const listener = await server.listen(network.listener(`deadline-${Math.random()}`));
    listener.hang();
    const client = createClient({
      transports: [memoryTransport(network)],
      endpoints: [listener.urls[0]!],
      clock,
      heartbeat: false,
      stallDetection: false,
      ...options,
    });
    const close = async () => {
      await client.close();
      await server.close();
    };
    return { client, clock, close };
  }

  it('a 24 h deadline times out after 24 h, not after 1 ms', async () => {
    const { client, clock, close } = await hungClient();
    let caught: unknown;
    client.call('work', [], { deadlineMs: 86_400_000 }).catch((error) => {
      caught = error;
    });
    await clock.advanceAsync(86_399_000, 3_600_000);
    expect(caught).toBeUndefined();
    await clock.advanceAsync(2_000, 100);
    expect((caught as Error).message).toBe('deadline of 86400000 ms exceeded');
    await close();
  });

  it('on the real clock, a deadline of 2^31 ms neither fires early nor warns', async () => {
    const warnings: unknown[] = [];
    const onWarning = (warning: unknown) => warnings.push(warning);
    process.on('warning', onWarning);
    const { client, close } = await hungClient({}, systemClock as unknown as ManualClock);
    let settled = false;
    const pending = client.call('work', [], { deadlineMs: 2 ** 31 + 1_000 }).finally(() => {
      settled = true;
    });
    pending.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    expect(warnings).toEqual([]);
    process.off('warning', onWarning);
    await close();
  });

  it('rejects an invalid deadline with a TypeError at the call, and Infinity unless allowNoDeadline', async () => {
    const { client, close } = await hungClient();
    for (const bad of [Number.NaN, -5, '1000', Number.POSITIVE_INFINITY]) {
      await expect(client.call('work', [], { deadlineMs: bad as number }), String(bad)).rejects.toThrow(
        TypeError,
      );
    }
    await expect(client.call('work', [], { attemptTimeoutMs: -1 })).rejects.toThrow(TypeError);
    expect(() => createClient({ transports: [memoryTransport(new MemoryNetwork())], deadlineMs: 0 })).toThrow(
      TypeError,
    );
    await close();
  });

  it('with allowNoDeadline, a call without a deadline waits until it is answered or cancelled', async () => {
    const { client, clock, close } = await hungClient({ allowNoDeadline: true });
    const controller = new AbortController();
    let caught: unknown;
    client
      .call('work', [], { deadlineMs: Number.POSITIVE_INFINITY, signal: controller.signal })
      .catch((error) => {
        caught = error;
      });
    await clock.advanceAsync(10 * 86_400_000, 86_400_000);
    expect(caught).toBeUndefined();
    controller.abort();
    await clock.advanceAsync(10, 10);
    expect((caught as { kind: string }).kind).toBe('cancelled');
    await close();
  });
});
