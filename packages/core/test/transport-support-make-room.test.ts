import { type ConnectionEntry, ConnectionTable, TickClock } from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/testing/manual-clock.js';

describe('ConnectionTable.makeRoom and TickClock', () => {
  it('evicts the first victim found, in order, else refuses the new connection', () => {
    const table = new ConnectionTable<string>({ maxConnections: 2, maxConnectionsPerAddress: 0 });
    const asked: string[] = [];
    const victims = [
      (entry: ConnectionEntry<string>) => {
        asked.push(`none for ${entry.key}`);
        return undefined;
      },
      (entry: ConnectionEntry<string>) => table.first('fresh', 0, (other) => other !== entry),
    ];
    const a = table.add('a', '', undefined);
    expect(table.makeRoom(a, victims)).toBeUndefined(); // not over: nobody asked
    table.add('b', '', undefined);
    const c = table.add('c', '', undefined);
    expect(table.makeRoom(c, victims)).toBe(a);
    expect([asked, table.size, table.get('a'), c.refusal]).toEqual([['none for c'], 2, undefined, undefined]);
    const d = table.add('d', '', undefined);
    expect(table.makeRoom(d, [() => undefined])).toBeUndefined();
    expect(d.refusal).toBe('too many connections');
  });

  it('a connection refused per address pushes out no one', () => {
    const table = new ConnectionTable<string>({ maxConnections: 1, maxConnectionsPerAddress: 1 });
    table.add('a', 'x', undefined);
    const b = table.add('b', 'x', undefined);
    expect(table.makeRoom(b, [() => table.first('fresh')])).toBeUndefined();
    expect([b.refusal, table.size]).toEqual(['too many connections from this address', 2]);
  });

  it('TickClock reads its source only at tick and runs timers on it', () => {
    const source = new ManualClock(5);
    const clock = new TickClock(source);
    source.advance(10);
    expect(clock.now()).toBe(5);
    clock.tick();
    expect(clock.now()).toBe(15);
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, 3);
    source.advance(3);
    expect(fired).toBe(true);
  });
});
