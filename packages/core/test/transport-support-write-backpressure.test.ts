import { boundedVerdict, PeerActivity, PingRounds, WriteBackpressure } from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/testing/manual-clock.js';

function stream() {
  const events: string[] = [];
  return {
    events,
    bufferedAmount: 0,
    pause: () => events.push('pause'),
    resume: () => events.push('resume'),
    terminate: () => events.push('terminate'),
  };
}

describe('WriteBackpressure', () => {
  const options = { maxInFlightPerConnection: 2, maxBufferedBytes: 100, stalledReadTimeoutMs: 1_000 };

  it('holds a slot until the reply is written, not when the dispatcher releases it', () => {
    const socket = stream();
    const backpressure = new WriteBackpressure(socket, { ...options, clock: new ManualClock() });
    const limit = backpressure.message();
    expect([limit.limit.tryAcquire(), limit.limit.tryAcquire(), limit.limit.tryAcquire()]).toEqual([
      true,
      true,
      false,
    ]);
    limit.limit.release();
    expect([limit.held, limit.refused, backpressure.inFlight]).toEqual([2, 1, 2]);
    backpressure.sending(limit.held);
    backpressure.written(limit.held);
    expect(backpressure.inFlight).toBe(0);
  });

  it('stops reading past maxBufferedBytes, resumes at half, and cuts a stalled peer off', () => {
    const clock = new ManualClock();
    const socket = stream();
    let resumed = 0;
    const backpressure = new WriteBackpressure(socket, { ...options, clock, onResume: () => resumed++ });
    const limit = backpressure.message();
    limit.limit.tryAcquire();
    backpressure.sending(1);
    socket.bufferedAmount = 101;
    backpressure.sent();
    expect([backpressure.stalled, socket.events]).toEqual([true, ['pause']]);
    socket.bufferedAmount = 60;
    backpressure.written(1);
    expect(backpressure.stalled).toBe(true);
    socket.bufferedAmount = 50;
    backpressure.written(0);
    expect([backpressure.stalled, resumed, socket.events]).toEqual([false, 1, ['pause', 'resume']]);
    clock.advance(2_000);
    expect(socket.events).toEqual(['pause', 'resume']);

    // Refused while replies wait unread: paused, and terminated once the timeout passes.
    const held = backpressure.message();
    held.limit.tryAcquire();
    held.limit.tryAcquire();
    backpressure.sending(2);
    const refused = backpressure.message();
    refused.limit.tryAcquire();
    backpressure.dispatched(refused);
    expect(backpressure.stalled).toBe(true);
    clock.advance(1_000);
    expect(socket.events).toEqual(['pause', 'resume', 'pause', 'terminate']);
  });
});

describe('PingRounds', () => {
  it('pings the peers heard from, cuts off the silent ones, skips the stalled ones, stops', () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const peer = (name: string, stalled = false) => ({
      alive: true,
      stalled,
      ping: () => events.push(`ping ${name}`),
      terminate: () => events.push(`terminate ${name}`),
    });
    const a = peer('a');
    const b = peer('b');
    const c = peer('c', true);
    const deferred: Array<() => void> = [];
    const rounds = new PingRounds({
      intervalMs: 100,
      peers: () => [a, b, c],
      clock,
      defer: (round) => deferred.push(round),
    });
    rounds.start();
    clock.advance(100);
    expect(events).toEqual([]);
    deferred.shift()!();
    expect(events).toEqual(['ping a', 'ping b']);
    a.alive = true;
    clock.advance(100);
    deferred.shift()!();
    expect(events).toEqual(['ping a', 'ping b', 'ping a', 'terminate b']);
    clock.advance(100);
    rounds.stop();
    deferred.shift()!();
    clock.advance(1_000);
    expect([events.length, deferred.length]).toEqual([4, 0]);
  });
});

describe('PeerActivity', () => {
  it('takes the time of activity lazily: when read, or when the heartbeat clears alive', () => {
    let now = 10;
    class Peer extends PeerActivity {
      arrived(active: boolean) {
        this.heard = true;
        if (active) this.touched = true;
      }
    }
    const peer = new Peer(() => now);
    now = 20;
    peer.arrived(false); // a pong: alive, not active
    expect([peer.alive, peer.lastActiveAt]).toEqual([true, 10]);
    peer.arrived(true);
    now = 30;
    peer.alive = false; // the round stamps the activity seen since the last read
    now = 40;
    expect([peer.alive, peer.lastActiveAt]).toEqual([false, 30]);
  });
});

describe('boundedVerdict', () => {
  it('settles once with the value, the error (a throw too) or a timeout', async () => {
    const clock = new ManualClock();
    const outcomes: unknown[] = [];
    const settle = (outcome: unknown) => outcomes.push(outcome);
    boundedVerdict(() => 403, 1_000, settle, clock);
    boundedVerdict(
      () => {
        throw new Error('no');
      },
      1_000,
      settle,
      clock,
    );
    boundedVerdict(() => new Promise<boolean>(() => {}), 1_000, settle, clock);
    await new Promise((resolve) => setTimeout(resolve, 0));
    clock.advance(1_000);
    clock.advance(1_000);
    expect(outcomes).toEqual([{ value: 403 }, { error: new Error('no') }, 'timed out']);
  });
});
