import { describe, expect, it } from 'vitest';
import { type ConnectionEvent, ConnectionEvents, RpcError } from '../src/index.js';

describe('ConnectionEvents', () => {
  it('reaches every listener even when one throws, and never throws itself', () => {
    const events = new ConnectionEvents();
    const seen: string[] = [];
    events.add(() => {
      throw new Error('a listener bug');
    });
    events.add((event) => seen.push(event.type));
    expect(() => events.emit({ type: 'activity' })).not.toThrow();
    expect(() => events.status('open')).not.toThrow();
    expect(seen).toEqual(['activity', 'status']);
  });

  it('builds status events with the error only when there is one; removes listeners', () => {
    const events = new ConnectionEvents();
    const seen: ConnectionEvent[] = [];
    expect(events.listened).toBe(false);
    const remove = events.add((event) => seen.push(event));
    expect(events.listened).toBe(true);
    const error = new RpcError('not-sent', 'refused');
    events.status('reconnecting', error);
    events.status('open');
    expect(seen).toEqual([
      { type: 'status', status: 'reconnecting', error },
      { type: 'status', status: 'open' },
    ]);
    expect('error' in seen[1]!).toBe(false);
    remove();
    events.status('closed');
    expect(seen).toHaveLength(2);
    events.add((event) => seen.push(event));
    events.clear();
    events.status('closed');
    expect(seen).toHaveLength(2);
  });
});
