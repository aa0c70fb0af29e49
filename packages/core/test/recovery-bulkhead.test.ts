import { describe, expect, it } from 'vitest';
import { Bulkhead } from '../src/recovery/bulkhead.js';
import { flushMicrotasks } from '../src/testing/manual-clock.js';

describe('Bulkhead', () => {
  it('admits up to maxConcurrent calls and fails the next fast', () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2 });
    expect(bulkhead.tryAcquire()).toBe(true);
    expect(bulkhead.tryAcquire()).toBe(true);
    expect(bulkhead.tryAcquire()).toBe(false);
    expect(bulkhead.inFlight).toBe(2);
    bulkhead.release();
    expect(bulkhead.tryAcquire()).toBe(true);
  });

  it('without a queue, acquire() resolves false at once when full', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    await expect(bulkhead.acquire()).resolves.toBe(true);
    await expect(bulkhead.acquire()).resolves.toBe(false);
    expect(bulkhead.queued).toBe(0);
  });

  it('queues up to maxQueue callers and serves them in order', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    await bulkhead.acquire();
    const order: string[] = [];
    const first = bulkhead.acquire().then((ok) => order.push(`first ${ok}`));
    const second = bulkhead.acquire().then((ok) => order.push(`second ${ok}`));
    await expect(bulkhead.acquire()).resolves.toBe(false); // queue full
    expect(bulkhead.queued).toBe(2);
    bulkhead.release();
    await first;
    expect(order).toEqual(['first true']);
    expect(bulkhead.inFlight).toBe(1); // the slot passed to the waiter
    bulkhead.release();
    await second;
    expect(order).toEqual(['first true', 'second true']);
    bulkhead.release();
    expect(bulkhead.inFlight).toBe(0);
  });

  it('does not let tryAcquire jump the queue', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    await bulkhead.acquire();
    const waiting = bulkhead.acquire();
    expect(bulkhead.tryAcquire()).toBe(false);
    bulkhead.release();
    await expect(waiting).resolves.toBe(true);
  });

  it('removes an aborted waiter from the queue and rejects with the abort reason', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    await bulkhead.acquire();
    const controller = new AbortController();
    const aborted = bulkhead.acquire(controller.signal);
    const next = bulkhead.acquire();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(bulkhead.queued).toBe(1);
    bulkhead.release();
    await expect(next).resolves.toBe(true);
    expect(bulkhead.inFlight).toBe(1);
  });

  it('rejects at once for an already aborted signal', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const controller = new AbortController();
    controller.abort('gone');
    await expect(bulkhead.acquire(controller.signal)).rejects.toBe('gone');
    expect(bulkhead.inFlight).toBe(0);
  });

  it('never goes below zero on extra releases', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    bulkhead.release();
    expect(bulkhead.inFlight).toBe(0);
    await flushMicrotasks();
  });
});
