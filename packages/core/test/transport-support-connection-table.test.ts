import { describe, expect, it } from 'vitest';
import { type ConnectionEntry, ConnectionTable } from '../src/index.js';
import { ManualClock } from '../src/testing/manual-clock.js';

type Entry = ConnectionEntry<string>;

function table(options: { maxConnections?: number; maxConnectionsPerAddress?: number } = {}) {
  const clock = new ManualClock(1_000);
  const connections = new ConnectionTable<string>({
    maxConnections: options.maxConnections ?? 10,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 0,
    clock,
  });
  const add = (key: string, address = '10.0.0.1') => connections.add(key, address, undefined);
  return { clock, connections, add };
}

const keys = (entries: (Entry | undefined)[]) => entries.map((entry) => entry?.key);

describe('ConnectionTable', () => {
  it('counts connections and refuses one past maxConnectionsPerAddress (0: no limit)', () => {
    const { connections, add } = table({ maxConnections: 3, maxConnectionsPerAddress: 2 });
    const a = add('a');
    add('b');
    const c = add('c');
    expect([a.refusal, c.refusal, connections.count('10.0.0.1')]).toEqual([
      undefined,
      'too many connections from this address',
      3,
    ]);
    expect(add('d', '10.0.0.2').refusal).toBeUndefined();
    expect([connections.size, connections.over]).toEqual([4, true]);
    connections.delete(c);
    connections.delete(c); // a second close is harmless
    expect([connections.size, connections.over, connections.count('10.0.0.1')]).toEqual([3, false, 2]);
    expect(connections.get('c')).toBeUndefined();
    const unlimited = table({ maxConnectionsPerAddress: 0 });
    for (const key of ['x', 'y', 'z']) expect(unlimited.add(key).refusal).toBeUndefined();
  });

  it('lists fresh connections by arrival and idle ones by when they became idle; busy ones in neither', () => {
    const { clock, connections, add } = table();
    const a = add('a');
    clock.advance(10);
    const b = add('b');
    clock.advance(10);
    const c = add('c');
    expect(connections.first('fresh')?.key).toBe('a');
    connections.busy(a);
    connections.busy(b);
    connections.busy(b); // two requests on b
    expect(connections.first('fresh')?.key).toBe('c');
    expect(connections.first('idle')).toBeUndefined();
    clock.advance(10);
    connections.idle(b);
    expect(connections.first('idle')).toBeUndefined(); // one request of b still runs
    connections.idle(a);
    clock.advance(10);
    connections.idle(b);
    expect([a.served, b.served, c.served]).toEqual([true, true, false]);
    expect(connections.first('idle')?.key).toBe('a');
    // a becomes busy again and idle later: b is now the idlest.
    connections.busy(a);
    clock.advance(10);
    connections.idle(a);
    expect(keys([connections.first('idle'), connections.first('idle', 0, (entry) => entry !== b)])).toEqual([
      'b',
      'a',
    ]);
  });

  it('first(): only connections waiting forMs or longer, at most `scan` of them looked at', () => {
    const { clock, connections, add } = table();
    const a = add('a');
    clock.advance(100);
    add('b');
    expect(connections.first('fresh', 50)?.key).toBe('a');
    expect(connections.first('fresh', 150)).toBeUndefined();
    expect(connections.first('fresh', 0, (entry) => entry.key === 'b', 1)).toBeUndefined();
    expect(connections.first('fresh', 0, (entry) => entry.key === 'b', 2)?.key).toBe('b');
    connections.delete(a);
    expect(connections.first('fresh', 50)).toBeUndefined();
  });

  it('expired(): visits the connections idle forMs or longer, oldest first, and may delete them', () => {
    const { clock, connections, add } = table();
    const entries = ['a', 'b', 'c'].map((key) => {
      const entry = add(key);
      connections.busy(entry);
      clock.advance(100);
      connections.idle(entry);
      return entry;
    });
    clock.advance(100); // idle for 300, 200 and 100 ms
    const visited: string[] = [];
    connections.expired('idle', 200, (entry) => {
      visited.push(entry.key);
      if (entry.key === 'a') connections.delete(entry);
    });
    expect(visited).toEqual(['a', 'b']);
    expect(connections.size).toBe(2);
    connections.expired('idle', 200, (entry) => visited.push(entry.key));
    expect(visited).toEqual(['a', 'b', 'b']); // b was kept: visited again
    const left: string[] = [];
    connections.expired('idle', 0, (entry) => left.push(entry.key));
    expect(left).toEqual(['b', 'c']);
    expect(entries.map((entry) => entry.served)).toEqual([true, true, true]);
  });

  it('ignores reports about a deleted connection', () => {
    const { connections, add } = table();
    const a = add('a');
    connections.busy(a);
    connections.delete(a);
    connections.idle(a);
    connections.busy(a);
    expect([connections.size, connections.first('idle'), connections.first('fresh')]).toEqual([
      0,
      undefined,
      undefined,
    ]);
  });

  it('idles out of order (an explicit `since`) at their place', () => {
    const { clock, connections, add } = table();
    const a = add('a');
    const b = add('b');
    const c = add('c');
    clock.advance(100);
    connections.idle(a, 1_050);
    connections.idle(b, 1_010);
    connections.idle(c, 1_090);
    const order: string[] = [];
    connections.expired('idle', 0, (entry) => order.push(entry.key));
    expect(order).toEqual(['b', 'a', 'c']);
  });

  it('sweeps a list every quarter of its time (10 ms to 1 s) until stopped; 0 or Infinity sweeps nothing', () => {
    const { clock, connections, add } = table();
    const closed: string[] = [];
    let ticks = 0;
    const stop = connections.sweep(
      'fresh',
      400,
      (entry) => {
        closed.push(entry.key);
        connections.delete(entry);
      },
      () => ticks++,
    );
    add('a');
    clock.advance(300);
    add('b');
    clock.advance(100); // 'a' waited 400 ms: closed at the fourth sweep (every 100 ms)
    expect([closed, ticks]).toEqual([['a'], 4]);
    clock.advance(300);
    expect([closed, ticks]).toEqual([['a', 'b'], 7]);
    stop();
    add('c');
    clock.advance(10_000);
    expect([closed, ticks]).toEqual([['a', 'b'], 7]);
    for (const never of [0, Number.POSITIVE_INFINITY]) connections.sweep('fresh', never, () => ticks++)();
    expect(clock.pendingTimers).toBe(0);
  });

  describe('with an idleSince option (connections that track their own activity)', () => {
    function selfTracking() {
      const clock = new ManualClock(1_000);
      /** Each connection's own state: when it last became idle, undefined while busy. */
      const state = new Map<string, number | undefined>();
      const connections = new ConnectionTable<string>({
        maxConnections: 2,
        maxConnectionsPerAddress: 0,
        clock,
        idleSince: (entry) => state.get(entry.key),
      });
      const open = (key: string) => {
        const entry = connections.add(key, '', undefined);
        connections.idle(entry);
        state.set(key, clock.now());
        return entry;
      };
      return { clock, state, connections, open };
    }

    it('finds the connection truly idle the longest, never a busy one', () => {
      const { clock, state, connections, open } = selfTracking();
      open('a');
      clock.advance(100);
      open('b');
      clock.advance(100);
      open('c');
      clock.advance(1_000);
      state.set('a', clock.now() - 50); // a was active 50 ms ago, without telling the table
      state.set('b', undefined); // b is busy
      expect(connections.first('idle', 500)?.key).toBe('c');
      // a moved to its place: it is idle 50 ms now, so for 500 ms only c qualifies still.
      state.set('c', undefined);
      expect(connections.first('idle', 500)).toBeUndefined();
      expect(connections.first('idle', 0)?.key).toBe('a');
      // b's call ended 10 ms ago: b moves to its place as well.
      state.set('b', clock.now() - 10);
      clock.advance(600);
      expect(connections.first('idle', 500)?.key).toBe('a');
      const visited: string[] = [];
      connections.expired('idle', 600, (entry) => visited.push(entry.key));
      expect(visited).toEqual(['a', 'b']);
    });

    it('a busy connection is looked at again only once it could have been idle long enough', () => {
      const clock = new ManualClock(1_000);
      let asked = 0;
      const connections = new ConnectionTable<string>({
        maxConnections: 1,
        maxConnectionsPerAddress: 0,
        clock,
        idleSince: () => {
          asked++;
          return undefined; // busy
        },
      });
      const entry = connections.add('x', '', undefined);
      connections.idle(entry);
      clock.advance(1_000);
      expect(connections.first('idle', 500)).toBeUndefined();
      expect(connections.first('idle', 500)).toBeUndefined();
      expect(asked).toBe(1); // listed as busy from then on: not expired for 500 ms
      clock.advance(500);
      expect(connections.first('idle', 500)).toBeUndefined();
      expect(asked).toBe(2);
    });
  });
});
