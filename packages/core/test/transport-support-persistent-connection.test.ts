import { describe, expect, it } from 'vitest';
import { ConnectionLostError, OverloadedError } from '../src/errors/kinds.js';
import type { RpcError } from '../src/errors/rpc-error.js';
import { ManualClock } from '../src/testing/manual-clock.js';
import { PersistentConnection } from '../src/transport/index.js';
import type { ConnectionEvent } from '../src/transport.js';
import { SilenceWatch } from '../src/transport-support/silence-watch.js';

/** A fake connection: `open` resolves with the next socket unless told to fail. */
function lifecycle(options: { maxQueued?: number; maxAttempts?: number } = {}) {
  const clock = new ManualClock();
  const log: string[] = [];
  const events: ConnectionEvent[] = [];
  let refuse = false;
  let sockets = 0;
  const life = new PersistentConnection<string, number>({
    endpoint: 'test://a',
    clock,
    random: () => 0.5,
    reconnect: {
      baseMs: 100,
      capMs: 1_000,
      maxAttempts: options.maxAttempts ?? Infinity,
      stableAfterMs: 5_000,
    },
    maxQueued: options.maxQueued ?? 2,
    open: async () => {
      if (refuse) throw new Error('refused');
      const socket = `socket ${++sockets}`;
      log.push(`open ${socket}`);
      return socket;
    },
    attached: (socket) => log.push(`attached ${socket}`),
    detached: (socket) => log.push(`detached ${socket}`),
    terminate: (socket) => log.push(`terminate ${socket}`),
    write: (key) => log.push(`write ${key}`),
    fail: (written, error) =>
      log.push(`fail ${written ? 'written' : 'queued'}: ${error.kind} ${error.message}`),
  });
  life.events.add((event) => events.push(event));
  const signal = { signal: new AbortController().signal };
  const refuseOpens = (value: boolean) => {
    refuse = value;
  };
  return { clock, life, log, events, signal, refuseOpens };
}

const statuses = (events: ConnectionEvent[]) =>
  events.map((event) => (event.type === 'status' ? event.status : event.type));

describe('PersistentConnection', () => {
  it('queues calls until the connection opens, then writes them in order', async () => {
    const { clock, life, log, events, signal } = lifecycle();
    expect(life.refusal(signal)).toBeUndefined();
    life.enqueue(1);
    life.enqueue(2);
    expect(life.refusal(signal)).toBeInstanceOf(OverloadedError); // maxQueued 2
    life.dequeue(2); // settled while queued: no longer counts, not written
    await clock.advanceAsync(1);
    expect(life.status).toBe('open');
    expect(life.connection).toBe('socket 1');
    expect(log).toEqual(['open socket 1', 'attached socket 1', 'write 1']);
    expect(statuses(events)).toEqual(['connecting', 'open']);
  });

  it('after a drop: fails what was written, reconnects after a jitter, writes what was queued since', async () => {
    const { clock, life, log, events, signal } = lifecycle();
    life.ensureConnecting();
    await clock.advanceAsync(1);
    log.length = 0;
    life.drop(new ConnectionLostError('gone'));
    expect(life.status).toBe('reconnecting');
    expect(life.error?.message).toBe('gone');
    expect(log).toEqual(['detached socket 1', 'fail written: connection-lost gone', 'terminate socket 1']);
    expect(life.refusal(signal)).toBeUndefined();
    life.enqueue(7);
    await clock.advanceAsync(49);
    expect(life.status).toBe('reconnecting'); // the jitter: random 0.5 × baseMs 100
    // Then the reconnector's backoff: the connection dropped before it was stable.
    await clock.advanceAsync(1_000);
    expect(life.status).toBe('open');
    expect(log.slice(3)).toEqual(['open socket 2', 'attached socket 2', 'write 7']);
    expect(statuses(events)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
  });

  it('gives up after its most attempts: queued calls fail, later ones fail fast and start a new run', async () => {
    const { clock, life, log, signal, refuseOpens } = lifecycle({ maxAttempts: 2 });
    refuseOpens(true);
    life.enqueue(1);
    await clock.advanceAsync(2_000);
    expect(life.status).toBe('closed');
    expect(life.closed).toBe(false); // gave up, not closed by its owner
    expect(log).toContain('fail queued: not-sent could not connect: refused');
    refuseOpens(false);
    expect(life.refusal(signal)?.message).toBe('reconnecting to test://a gave up');
    await clock.advanceAsync(1_000);
    expect(life.status).toBe('open');
  });

  it('close fails queued calls as not sent and written ones as lost, returns the socket, and stays closed', async () => {
    const { clock, life, log, signal } = lifecycle();
    life.ensureConnecting();
    await clock.advanceAsync(1);
    log.length = 0;
    expect(life.close()).toBe('socket 1');
    expect(life.close()).toBeUndefined();
    expect(life.status).toBe('closed');
    expect(log).toEqual([
      'fail queued: not-sent the connection was closed by the client',
      'detached socket 1',
      'fail written: connection-lost the connection was closed by the client',
    ]);
    expect(life.refusal(signal)?.message).toBe('the connection is closed');
    life.ensureConnecting();
    await clock.advanceAsync(1_000);
    expect(life.connection).toBeUndefined();
  });

  it('refuses a call whose signal aborted, as not sent', () => {
    const { life } = lifecycle();
    const controller = new AbortController();
    controller.abort();
    const refusal: RpcError | undefined = life.refusal(controller);
    expect(refusal?.kind).toBe('not-sent');
    expect(life.status).toBe('idle');
  });
});

describe('SilenceWatch', () => {
  function watch() {
    const clock = new ManualClock();
    const log: string[] = [];
    const silence = new SilenceWatch({
      clock,
      intervalMs: 100,
      timeoutMs: 250,
      ping: () => log.push(`ping at ${clock.now()}`),
      silent: (silentMs) => {
        log.push(`silent ${silentMs} at ${clock.now()}`);
        silence.stop();
      },
    });
    return { clock, log, silence };
  }

  it('pings a peer silent for an interval, gives it up once the ping stays unanswered past the timeout', () => {
    const { clock, log, silence } = watch();
    silence.start();
    clock.advance(1_000);
    expect(log).toEqual(['ping at 100', 'silent 400 at 400']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('never pings a peer heard from on every tick; an answer after a ping clears it', () => {
    const { clock, log, silence } = watch();
    silence.start();
    for (let i = 0; i < 5; i++) {
      silence.heard = true;
      clock.advance(100);
    }
    expect(log).toEqual([]);
    clock.advance(200); // silent for a whole interval: pinged at 600 (the last heard tick was 500)
    silence.heard = true; // the pong
    clock.advance(300);
    expect(log).toEqual(['ping at 600', 'ping at 900']);
    silence.stop();
  });

  it('excuses a tick late by more than an interval (our own stall) and judges on the next one', () => {
    const { clock, log, silence } = watch();
    silence.start();
    clock.advance(100); // ping at 100
    // Stall: the next tick, due at 200, runs at 450.
    const original = clock.now.bind(clock);
    let skew = 0;
    clock.now = () => original() + skew;
    skew = 250;
    clock.advance(100);
    expect(log).toEqual(['ping at 100']); // not given up at 450, though the ping is 350 ms old
    clock.advance(100); // pinged again
    expect(log).toEqual(['ping at 100', 'ping at 550']);
    silence.stop();
  });
});
