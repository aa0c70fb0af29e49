import { ManualClock } from '@resilient-rpc/core/testing';
import { DiscoveryRounds, type ProbeResult } from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';

function harness(probeResult: () => ProbeResult) {
  const clock = new ManualClock();
  const updates: string[][] = [];
  const probed: string[] = [];
  let connected = true;
  let asked = 0;
  const rounds = new DiscoveryRounds(
    {
      ask: () => connected && ++asked > 0,
      probe: async (key) => {
        probed.push(key);
        return probeResult();
      },
      update: (keys) => updates.push(keys),
    },
    {
      clock,
      random: () => 0.5,
      intervalMs: 100,
      jitterRatio: 0.2,
      forgetAfterMs: 1_000,
      maxMembers: 2,
      confirmGoneAfterMs: 50,
    },
  );
  return {
    clock,
    rounds,
    updates,
    probed,
    asked: () => asked,
    disconnect: () => {
      connected = false;
    },
  };
}

describe('DiscoveryRounds', () => {
  it('asks every interval, adds members up to maxMembers, announces sorted sets once', () => {
    const { clock, rounds, updates, asked } = harness(() => 'alive');
    rounds.start();
    expect(asked()).toBe(1);
    rounds.seen('b');
    rounds.seen('a');
    rounds.seen('a');
    rounds.seen('c'); // past maxMembers
    expect(updates).toEqual([['b'], ['a', 'b']]);
    clock.advance(100);
    expect(asked()).toBe(2);
    rounds.stop();
    clock.advance(1_000);
    expect(asked()).toBe(2);
  });

  it('probes a member that missed a round; "gone" twice drops it, silence keeps it until forgetAfterMs', async () => {
    const gone = harness(() => 'gone');
    gone.rounds.start();
    gone.rounds.seen('a');
    await gone.clock.advanceAsync(200); // a missed the round sent at 100 ms: probed, gone once
    expect(gone.probed).toEqual(['a']);
    expect(gone.updates.at(-1)).toEqual(['a']);
    await gone.clock.advanceAsync(100); // gone a second time: dropped
    expect(gone.updates.at(-1)).toEqual([]);
    const silent = harness(() => 'silent');
    silent.rounds.start();
    silent.rounds.seen('a');
    await silent.clock.advanceAsync(900);
    expect(silent.updates.at(-1)).toEqual(['a']);
    await silent.clock.advanceAsync(200);
    expect(silent.updates.at(-1)).toEqual([]);
  });

  it('confirms a member a call found gone with a probe a little later; rounds not sent do not count', async () => {
    const { clock, rounds, probed, updates, disconnect } = harness(() => 'alive');
    rounds.start();
    rounds.seen('a');
    rounds.suspectGone('a');
    await clock.advanceAsync(50);
    expect(probed).toEqual(['a']);
    disconnect();
    await clock.advanceAsync(5_000);
    expect(updates.at(-1)).toEqual(['a']); // not connected: no round counted, nothing forgotten
    rounds.stop();
  });
});
