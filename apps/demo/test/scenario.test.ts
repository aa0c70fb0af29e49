import { describe, expect, it } from 'vitest';
import { listScenarios, loadScenario, phaseWindows, schedule, validateScenario } from '../src/scenario.js';

describe('scenarios', () => {
  it('ships default, crash-only, hang-only and quick, all valid', () => {
    expect(listScenarios()).toEqual(expect.arrayContaining(['default', 'crash-only', 'hang-only', 'quick']));
    for (const name of listScenarios()) {
      const scenario = loadScenario(name);
      expect(scenario.faults.length).toBeGreaterThan(0);
      expect(() => schedule(scenario, scenario.durationS * 1000, 3)).not.toThrow();
    }
  });

  it('default has one of each real fault', () => {
    const types = loadScenario('default').faults.map((f) => f.type);
    expect(new Set(types)).toEqual(new Set(['crash', 'hang', 'flaky', 'slow']));
  });

  it('scales the timeline to the run and cuts it into phases', () => {
    const scenario = validateScenario({
      durationS: 10,
      faults: [
        { type: 'crash', replica: 0, at: 2, for: 3 },
        { type: 'slow', replica: 1, at: 4, for: 2, delayMs: 300 },
      ],
    });
    const faults = schedule(scenario, 5_000, 2);
    expect(faults.map((f) => [f.startMs, f.endMs])).toEqual([
      [1_000, 2_500],
      [2_000, 3_000],
    ]);
    expect(phaseWindows(faults, 5_000)).toEqual([
      { name: 'warm-up', startMs: 0, endMs: 1_000 },
      { name: 'crash r0', startMs: 1_000, endMs: 2_000 },
      { name: 'crash r0 + slow r1 +300ms', startMs: 2_000, endMs: 2_500 },
      { name: 'slow r1 +300ms', startMs: 2_500, endMs: 3_000 },
      { name: 'no fault', startMs: 3_000, endMs: 5_000 },
    ]);
  });

  it('rejects bad scenarios with a clear message', () => {
    expect(() =>
      validateScenario({ durationS: 5, faults: [{ type: 'melt', replica: 0, at: 1, for: 1 }] }),
    ).toThrow(/type must be one of crash, hang, flaky, slow/);
    expect(() =>
      validateScenario({ durationS: 5, faults: [{ type: 'hang', replica: 0, at: 9, for: 1 }] }),
    ).toThrow(/at must be in \[0, durationS\)/);
    expect(() => validateScenario({ durationS: 0, faults: [] })).toThrow(/durationS/);
    const scenario = validateScenario({
      durationS: 5,
      faults: [{ type: 'hang', replica: 4, at: 1, for: 1 }],
    });
    expect(() => schedule(scenario, 5_000, 3)).toThrow(/--replicas 5/);
    expect(() => loadScenario('no-such-scenario')).toThrow(/default/);
  });
});
