import { describe, expect, it } from 'vitest';
import { ANSWER, EndpointHealth } from '../src/client/endpoint-health.js';

function machine() {
  const changes: string[] = [];
  const health = new EndpointHealth((from, to, reason) => changes.push(`${from}→${to} (${reason})`));
  return { health, changes };
}

describe('endpoint health: one state machine fed typed signals', () => {
  it('stall → suspect; an answer → healthy again through no other path', () => {
    const { health, changes } = machine();
    expect(health.apply({ type: 'stall', stalled: true, reason: 'probe unanswered' })).toBe('suspect');
    expect(health.apply(ANSWER)).toBe('healthy');
    expect(changes).toEqual(['healthy→suspect (probe unanswered)', 'suspect→healthy (answered again)']);
  });

  it('a refusal is down until its backoff ends, then probing until something answers', () => {
    const { health } = machine();
    expect(health.apply({ type: 'failure', kind: 'not-sent', until: 500, reason: 'refused' })).toBe('down');
    expect(health.backoffUntil).toBe(500);
    expect(health.apply({ type: 'tick', now: 499 })).toBe('down');
    expect(health.apply({ type: 'tick', now: 500 })).toBe('probing');
    expect(health.apply(ANSWER)).toBe('healthy');
  });

  it('failures that say nothing about reachability do not move the state (the breaker and outlier detection see them)', () => {
    const { health, changes } = machine();
    for (const kind of ['timeout', 'connection-lost', 'remote', 'protocol', 'cancelled'] as const)
      expect(health.apply({ type: 'failure', kind, until: 0, reason: kind })).toBe('healthy');
    expect(changes).toEqual([]);
  });

  it('ejection wins over everything; connection status and heartbeat verdicts make it down', () => {
    const { health } = machine();
    expect(health.apply({ type: 'connection', status: 'reconnecting', reason: 'lost' })).toBe('down');
    expect(health.apply({ type: 'ejection', ejected: true, reason: 'outlier' })).toBe('ejected');
    expect(health.apply({ type: 'ejection', ejected: false, reason: 'back' })).toBe('down');
    expect(health.apply({ type: 'connection', status: 'open', reason: 'open' })).toBe('probing');
    expect(health.apply({ type: 'probe', ok: false, reason: 'heartbeat silent' })).toBe('down');
    expect(health.apply({ type: 'probe', ok: true, reason: 'heartbeat back' })).toBe('probing');
    expect(health.apply(ANSWER)).toBe('healthy');
  });
});
