import { ConnectionLostError, createServer, type JsonRpcRequest } from '@resilient-rpc/core';
import { FaultInjector, ManualClock, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';

describe('ManualClock', () => {
  it('runs due timers in time order, including ones scheduled while advancing', () => {
    const clock = new ManualClock(100);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimeout(() => seen.push(`c@${clock.now()}`), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => seen.push('never'), 15);
    cancelled.cancel();
    clock.advance(30);
    expect(seen).toEqual(['a@110', 'c@115', 'b@120']);
    expect(clock.now()).toBe(130);
    expect(clock.pendingTimers).toBe(0);
  });

  it('jumps like a stalled event loop: due timers run late, at the new time', () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 10);
    clock.jump(500);
    expect(seen).toEqual([500]);
  });
});

describe('FaultInjector', () => {
  const request: JsonRpcRequest = { jsonrpc: '2.0', method: 'count', id: 1 };
  async function setup() {
    const network = new MemoryNetwork();
    let executed = 0;
    const server = createServer({ methods: { count: () => ++executed } });
    await server.listen(network.listener('faulty'));
    const inner = memoryTransport(network).connect('memory://faulty', {
      clock: new ManualClock(),
      random: Math.random,
    });
    return { inner, executed: () => executed };
  }
  const options = () => ({ signal: new AbortController().signal, timeoutMs: 1_000, metadata: {} });

  it('follows its script, then passes calls through', async () => {
    const { inner, executed } = await setup();
    const injector = new FaultInjector(inner, {
      script: [{ type: 'error', kind: 'not-sent' }, { type: 'close' }, undefined],
    });
    await expect(injector.send(request, options())).rejects.toMatchObject({ kind: 'not-sent' });
    expect(executed()).toBe(0);
    await expect(injector.send(request, options())).rejects.toBeInstanceOf(ConnectionLostError);
    expect(executed()).toBe(1); // processed, answer lost
    await expect(injector.send(request, options())).resolves.toMatchObject({ result: 2 });
    expect(injector.counts).toMatchObject({ sends: 3, error: 1, close: 1 });
  });

  it('drops a request until the caller gives up, without executing it', async () => {
    const { inner, executed } = await setup();
    const injector = new FaultInjector(inner, { script: [{ type: 'drop' }] });
    const controller = new AbortController();
    const pending = injector.send(request, { ...options(), signal: controller.signal });
    controller.abort(new Error('deadline'));
    await expect(pending).rejects.toThrow('deadline');
    expect(executed()).toBe(0);
  });

  it('hangs after the server processed the request', async () => {
    const { inner, executed } = await setup();
    const injector = new FaultInjector(inner, { script: [{ type: 'hang' }] });
    const controller = new AbortController();
    const pending = injector.send(request, { ...options(), signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(executed()).toBe(1);
    controller.abort(new Error('gave up'));
    await expect(pending).rejects.toThrow('gave up');
  });
});
