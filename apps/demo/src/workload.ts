/** The demo's call mix: mostly idempotent calls, plus non-idempotent `charge` calls with unique ids. */
import type { JsonRpcParams } from '@resilient-rpc/core';

export interface PlannedCall {
  method: string;
  params: JsonRpcParams;
  idempotent: boolean;
  /** The id of a non-idempotent call. */
  id?: string;
  /** Checks the result; false means a wrong answer. */
  check: (result: unknown) => boolean;
}

/** Share of non-idempotent calls. */
export const NON_IDEMPOTENT_SHARE = 0.2;

/** Idempotent methods. */
export const IDEMPOTENT_METHODS = ['work', 'echo', 'add'] as const;
/** The method hedged in the recovery run (the one with real service time). */
export const HEDGED_METHOD = 'work';

/** The next call of one worker. `random` is the worker's seeded PRNG. */
export function planCall(random: () => number, idPrefix: string, seq: number): PlannedCall {
  const r = random();
  if (r < NON_IDEMPOTENT_SHARE) {
    const id = `${idPrefix}-${seq}`;
    const amount = 1 + Math.floor(random() * 100);
    return {
      method: 'charge',
      params: { id, amount },
      idempotent: false,
      id,
      check: (result) =>
        typeof result === 'object' &&
        result !== null &&
        (result as { id?: unknown }).id === id &&
        (result as { charged?: unknown }).charged === amount,
    };
  }
  if (r < 0.35) {
    const x = `hello-${idPrefix}-${seq}`;
    return { method: 'echo', params: [x], idempotent: true, check: (result) => result === x };
  }
  if (r < 0.5) {
    const a = Math.floor(random() * 1000);
    const b = Math.floor(random() * 1000);
    // Half positional, half named: the server takes both.
    const params = random() < 0.5 ? [a, b] : { a, b };
    return { method: 'add', params, idempotent: true, check: (result) => result === a + b };
  }
  const ms = 5 + Math.floor(random() * 20);
  return {
    method: 'work',
    params: { ms },
    idempotent: true,
    check: (result) =>
      typeof result === 'object' && result !== null && (result as { ms?: unknown }).ms === ms,
  };
}
