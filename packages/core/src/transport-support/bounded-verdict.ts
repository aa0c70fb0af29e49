import { type Clock, systemClock } from '../util/clock.js';

/** How an application hook awaited by {@link boundedVerdict} ended. */
export type VerdictOutcome<T> = { readonly value: T } | { readonly error: unknown } | 'timed out';

/**
 * Runs an application hook (an admission check such as the WebSocket listener's `verifyUpgrade`)
 * in a microtask of its own, so that a hook that throws is a rejection too, and calls `settle`
 * exactly once: with its value, its error, or `'timed out'` when it has not settled within
 * `timeoutMs` (`Infinity`: no bound), so that a check that never settles cannot hold what waits
 * for it. Used by the WebSocket listener; any listener with an asynchronous admission hook can use it.
 */
export function boundedVerdict<T>(
  hook: () => T | Promise<T>,
  timeoutMs: number,
  settle: (outcome: VerdictOutcome<T>) => void,
  clock: Clock = systemClock,
): void {
  let settled = false;
  const once = (outcome: VerdictOutcome<T>) => {
    if (settled) return;
    settled = true;
    timer?.cancel();
    settle(outcome);
  };
  const timer = Number.isFinite(timeoutMs) ? clock.setTimeout(() => once('timed out'), timeoutMs) : undefined;
  Promise.resolve()
    .then(hook)
    .then(
      (value) => once({ value }),
      (error: unknown) => once({ error }),
    );
}
