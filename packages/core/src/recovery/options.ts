/** Drops `undefined` values so `{ ...defaults, ...definedOnly(options) }` keeps the defaults for them. */
export function definedOnly<T extends object>(options: Partial<T>): Partial<T> {
  const result: Partial<T> = {};
  for (const key of Object.keys(options) as (keyof T)[]) {
    if (options[key] !== undefined) result[key] = options[key];
  }
  return result;
}
