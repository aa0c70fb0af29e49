import { describe, expect, it } from 'vitest';
import { QuietWait } from '../src/index.js';
import { ManualClock } from '../src/testing/manual-clock.js';
import { ConnectionsPerAddress } from '../src/transport-support/connections-per-address.js';

describe('ConnectionsPerAddress', () => {
  it('counts open connections per address and forgets an address with none left', () => {
    const table = new ConnectionsPerAddress();
    expect(table.add('10.0.0.1')).toBe(1);
    expect(table.add('10.0.0.1')).toBe(2);
    expect(table.add('10.0.0.2')).toBe(1);
    expect([table.count('10.0.0.1'), table.count('10.0.0.2'), table.count('10.0.0.3')]).toEqual([2, 1, 0]);
    table.remove('10.0.0.1');
    table.remove('10.0.0.2');
    expect([table.count('10.0.0.1'), table.addresses]).toEqual([1, 1]);
    table.remove('10.0.0.1');
    table.remove('10.0.0.1'); // a second close of the same connection does not go below zero
    expect([table.count('10.0.0.1'), table.addresses]).toEqual([0, 0]);
    expect(table.add('10.0.0.1')).toBe(1);
  });
});

describe('QuietWait', () => {
  it('resolves every wait at quiet(), and cancels their timers', async () => {
    const clock = new ManualClock();
    const quiet = new QuietWait(clock);
    const settled: string[] = [];
    const first = quiet.wait(1_000).then(() => settled.push('first'));
    const second = quiet.wait(5_000).then(() => settled.push('second'));
    await Promise.resolve();
    expect(settled).toEqual([]);
    quiet.quiet();
    await Promise.all([first, second]);
    expect(settled).toEqual(['first', 'second']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('resolves after its time when the requests do not end, and a later quiet() is harmless', async () => {
    const clock = new ManualClock();
    const quiet = new QuietWait(clock);
    let done = false;
    const wait = quiet.wait(1_000).then(() => {
      done = true;
    });
    clock.advance(999);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await wait;
    expect(done).toBe(true);
    quiet.quiet();
  });
});
