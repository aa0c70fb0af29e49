/** A source of uniform random numbers in [0, 1). Inject a seeded one for deterministic tests. */
export type Random = () => number;

/** `Math.random`. */
export const defaultRandom: Random = Math.random;

/**
 * A small, fast, seedable PRNG (mulberry32). Good enough for jitter, balancer choices and
 * simulations; not for cryptography.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
