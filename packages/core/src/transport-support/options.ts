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

type Widen<T> = T extends number ? number : T extends string ? string : T extends boolean ? boolean : T;

/** What {@link withDefaults} returns: every option of `D` set, wider than its default's literal type. */
export type WithDefaults<D, O> = Omit<O, keyof D> & {
  -readonly [K in keyof D]: Widen<D[K]> | (K extends keyof O ? Exclude<O[K], undefined> : never);
};

/**
 * The options an adapter's documented defaults object `D` stands for: each of its keys optional,
 * of its default's type widened (`'127.0.0.1'` → `string`). A homomorphic mapped type, so each
 * option shows its default's JSDoc in the editor and in the `.d.ts`: an option is documented once,
 * on its default (`Pick` or `Omit` it to take some of them).
 */
export type OptionsOf<D> = { readonly [K in keyof D]?: Widen<D[K]> };

/**
 * An adapter's settings, resolved once: `defaults` with every option given (not `undefined` or
 * `null`) over it.
 */
export function withDefaults<D extends object, O extends object>(
  defaults: D,
  options: O,
): WithDefaults<D, O> {
  const settings: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [name, value] of Object.entries(options)) if (value != null) settings[name] = value;
  return settings as WithDefaults<D, O>;
}
