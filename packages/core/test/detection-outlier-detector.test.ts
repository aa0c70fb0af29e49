import { describe, expect, it } from 'vitest';
import { OutlierDetectionDefaults, OutlierDetector } from '../src/detection/outlier-detector.js';
import { ManualClock } from '../src/testing/manual-clock.js';

function setup(endpoints: string[], options: ConstructorParameters<typeof OutlierDetector>[0] = {}) {
  const clock = new ManualClock();
  const detector = new OutlierDetector(options, clock);
  const events: [string, boolean, string][] = [];
  detector.onChange((endpoint, ejected, reason) => events.push([endpoint, ejected, reason]));
  for (const endpoint of endpoints) detector.add(endpoint);
  const fail = (endpoint: string, times: number) => {
    for (let index = 0; index < times; index++) detector.record(endpoint, false);
  };
  return { clock, detector, events, fail };
}

describe('OutlierDetector', () => {
  it('defaults follow gRPC A50 / Envoy: 5 in a row, 30 s × ejections up to 300 s, at most 50 %', () => {
    expect(OutlierDetectionDefaults).toMatchObject({
      consecutiveFailures: 5,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 0.5,
    });
  });

  it('ejects an endpoint after 5 consecutive failures', () => {
    const { detector, events, fail } = setup(['a', 'b', 'c']);
    fail('a', 4);
    detector.record('a', true);
    fail('a', 4);
    expect(detector.isEjected('a')).toBe(false);
    fail('a', 1);
    expect(detector.isEjected('a')).toBe(true);
    expect(events).toEqual([['a', true, '5 consecutive failures; ejected for 30000 ms (ejection 1)']]);
  });

  it('ejects on a failure rate of 50 % over at least 20 calls', () => {
    const { detector, events } = setup(['a', 'b', 'c']);
    for (let index = 0; index < 19; index++) detector.record('a', index % 2 === 0);
    expect(detector.isEjected('a')).toBe(false);
    detector.record('a', false);
    expect(detector.isEjected('a')).toBe(true);
    expect(events[0]?.[2]).toMatch(/^failure rate 50 % over 20 calls/);
  });

  it('a failure rate threshold of 1 disables rate-based ejection', () => {
    const { detector } = setup(['a', 'b'], { failureRateThreshold: 1 });
    for (let index = 0; index < 200; index++) detector.record('a', index % 5 === 0);
    expect(detector.isEjected('a')).toBe(false);
  });

  it('returns the endpoint when its ejection expires, lazily, with an event', () => {
    const { clock, detector, events, fail } = setup(['a', 'b', 'c']);
    fail('a', 5);
    clock.advance(29_999);
    expect(detector.isEjected('a')).toBe(true);
    clock.advance(1);
    expect(events).toHaveLength(1); // nothing happens until someone asks
    expect(detector.isEjected('a')).toBe(false);
    expect(events[1]).toEqual(['a', false, 'ejection expired']);
  });

  it('returns an endpoint with a clean slate: its old failures do not count again', () => {
    const { clock, detector, fail } = setup(['a', 'b', 'c']);
    fail('a', 5);
    clock.advance(30_000);
    expect(detector.isEjected('a')).toBe(false);
    fail('a', 4);
    expect(detector.isEjected('a')).toBe(false);
  });

  it('ejects for longer each time, base × times ejected, capped at maxEjectionMs', () => {
    const { clock, detector, fail } = setup(['a', 'b', 'c']);
    const durations: number[] = [];
    for (let round = 0; round < 12; round++) {
      fail('a', 5);
      const start = clock.now();
      while (detector.isEjected('a')) clock.advance(1_000);
      durations.push(clock.now() - start);
    }
    expect(durations.slice(0, 4)).toEqual([30_000, 60_000, 90_000, 120_000]);
    expect(durations.slice(9)).toEqual([300_000, 300_000, 300_000]);
    expect(Math.max(...durations)).toBe(300_000);
    expect(detector.ejectionCount('a')).toBe(12);
  });

  it('lets the ejection count decay after healthy periods (one per base ejection time)', () => {
    const { clock, detector, fail } = setup(['a', 'b', 'c']);
    fail('a', 5);
    clock.advance(30_000);
    fail('a', 5);
    clock.advance(60_000);
    expect(detector.isEjected('a')).toBe(false);
    expect(detector.ejectionCount('a')).toBe(2);
    clock.advance(30_000);
    expect(detector.ejectionCount('a')).toBe(1);
    clock.advance(29_999);
    expect(detector.ejectionCount('a')).toBe(1);
    clock.advance(1);
    expect(detector.ejectionCount('a')).toBe(0);
    fail('a', 5);
    expect(detector.ejectedUntil('a')).toBe(clock.now() + 30_000);
  });

  it('never ejects more than maxEjectionPercent of the endpoints', () => {
    const endpoints = ['a', 'b', 'c', 'd', 'e', 'f'];
    const { detector, fail } = setup(endpoints, { maxEjectionPercent: 0.5 });
    for (const endpoint of endpoints) fail(endpoint, 10);
    expect(endpoints.filter((endpoint) => detector.isEjected(endpoint))).toEqual(['a', 'b', 'c']);
    expect(detector.ejectedCount).toBe(3);
  });

  it('ejects a blocked endpoint once another returns and it keeps failing', () => {
    const { clock, detector, fail } = setup(['a', 'b', 'c'], { maxEjectionPercent: 0.34 });
    fail('a', 5);
    fail('b', 5);
    expect(detector.isEjected('b')).toBe(false);
    clock.advance(30_000);
    fail('b', 1);
    expect(detector.isEjected('b')).toBe(true);
    expect(detector.isEjected('a')).toBe(false);
  });

  it('never ejects every endpoint, even at 100 %', () => {
    const { detector, fail } = setup(['a', 'b'], { maxEjectionPercent: 1 });
    fail('a', 5);
    fail('b', 50);
    expect([detector.isEjected('a'), detector.isEjected('b')]).toEqual([true, false]);
    const single = setup(['only']);
    single.fail('only', 50);
    expect(single.detector.isEjected('only')).toBe(false);
  });

  it('always allows one ejection among two or more endpoints, as Envoy does', () => {
    const { detector, fail } = setup(['a', 'b', 'c', 'd', 'e'], { maxEjectionPercent: 0.1 });
    fail('a', 5);
    fail('b', 5);
    expect([detector.isEjected('a'), detector.isEjected('b')]).toEqual([true, false]);
  });

  it('ignores outcomes while ejected (panic-mode calls)', () => {
    const { clock, detector, fail } = setup(['a', 'b']);
    fail('a', 5);
    fail('a', 100);
    clock.advance(30_000);
    expect(detector.isEjected('a')).toBe(false);
    expect(detector.ejectionCount('a')).toBe(1);
  });

  it('forgets a removed endpoint, and counts only current endpoints for the cap', () => {
    const { detector, fail } = setup(['a', 'b', 'c', 'd']);
    fail('a', 5);
    detector.remove('a');
    expect(detector.isEjected('a')).toBe(false);
    expect(detector.size).toBe(3);
    fail('b', 5);
    expect(detector.isEjected('b')).toBe(true);
  });
});
