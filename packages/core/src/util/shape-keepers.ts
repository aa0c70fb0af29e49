/**
 * Objects kept for good so that their classes' instance shapes outlive every real instance.
 *
 * V8 holds the shapes (hidden classes) a constructor's field definitions lead to only while some
 * object has them, and optimised code holds the shapes it checks weakly. A per-request class with
 * no instance alive at a major GC (an idle client or server, or a benchmark's forced GC) loses
 * its shapes, and V8 throws away the optimised code of every function that checked them
 * ("reason: weak objects" under `--trace-deopt`): the next few thousand requests run unoptimised
 * while it is compiled again. One kept instance per class, a few hundred bytes in all, prevents it.
 * Every field of a kept class must be defined at construction, so that the keeper's shape is
 * that of every later instance.
 */
const kept: object[] = [];

/** Keeps `objects` alive for good (see the module's comment). */
export function keepShapes(...objects: object[]): void {
  // A module variable no function reads is dropped once the module has run: this one is read here.
  kept.push(...objects);
}
