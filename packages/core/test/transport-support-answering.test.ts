import { Answering } from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/testing/manual-clock.js';

const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  return done;
};

describe('Answering', () => {
  it('wait resolves when the last answer went out, or after the grace time', async () => {
    const clock = new ManualClock();
    const answering = new Answering(clock);
    expect(await settled(answering.wait(100))).toBe(true); // nothing under way
    answering.begin();
    answering.begin();
    expect(answering.size).toBe(2);
    const first = answering.wait(100);
    answering.end();
    expect(await settled(first)).toBe(false);
    answering.end();
    expect(await settled(first)).toBe(true);
    answering.begin();
    const second = answering.wait(100);
    clock.advance(99);
    expect(await settled(second)).toBe(false);
    clock.advance(1);
    expect(await settled(second)).toBe(true);
  });
});
