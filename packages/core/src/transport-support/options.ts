/**
 * Returns `value` when it is a positive number (`Infinity` included), else throws a `RangeError`
 * `<name> must be a positive number (got …)`. The one check behind the numeric limits and times
 * of the server and the adapters' options.
 */
export function positiveNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number (got ${String(value)})`);
  return value;
}

/** {@link positiveNumber} for each of `names` in `values`, named `<who>: <name>` in the error. */
export function checkPositive(who: string, values: object, names: Iterable<string>): void {
  for (const name of names) positiveNumber(`${who}: ${name}`, (values as Record<string, unknown>)[name]);
}
