/** What a numeric option may be besides a positive number, for {@link positiveNumber}. */
export interface NumberRule {
  /** 0 too (an option that 0 turns off). */
  readonly zero?: boolean;
  /** Whole numbers only (a count, or a timeout node:http takes in whole ms); `Infinity` still passes. */
  readonly whole?: boolean;
  /** Not `Infinity` (a timer's delay, which the clock would fire at once). */
  readonly finite?: boolean;
}

/**
 * Returns `value` when it is a positive number (`Infinity` included), else throws a `RangeError`
 * `<name> must be a positive number (got …)`; `rule` lets 0 in, or keeps fractions or `Infinity`
 * out. The one check behind the numeric limits and times of the server and the adapters' options.
 */
export function positiveNumber(name: string, value: unknown, rule: NumberRule = {}): number {
  const { zero = false, whole = false, finite = false } = rule;
  if (
    typeof value !== 'number' ||
    !(value > 0 || (zero && value === 0)) ||
    (finite && value === Number.POSITIVE_INFINITY) ||
    (whole && !Number.isInteger(value) && value !== Number.POSITIVE_INFINITY)
  ) {
    const kind = `${finite ? 'finite ' : ''}${zero ? 'non-negative' : 'positive'} ${whole ? 'whole ' : ''}number`;
    throw new RangeError(`${name} must be a ${kind} (got ${String(value)})`);
  }
  return value;
}

/** {@link positiveNumber} for each of `names` in `values`, named `<who>: <name>` in the error. */
export function checkPositive(who: string, values: object, names: Iterable<string>, rule?: NumberRule): void {
  for (const name of names)
    positiveNumber(`${who}: ${name}`, (values as Record<string, unknown>)[name], rule);
}

type Widen<T> = T extends number ? number : T extends string ? string : T extends boolean ? boolean : T;

/** What {@link withDefaults} returns: every option of `D` set, wider than its default's literal type. */
export type WithDefaults<D, O> = Omit<O, keyof D> & {
  -readonly [K in keyof D]: Widen<D[K]> | (K extends keyof O ? Exclude<O[K], undefined> : never);
};

/**
 * The options of an adapter whose defaults are `D` (its `…Defaults` object): each optional and as
 * wide as its default's type. Homomorphic, so each option shows the JSDoc of its default: an
 * option is documented once, on its default (`interface …Options extends OptionsOf<typeof …Defaults>`).
 */
export type OptionsOf<D> = { -readonly [K in keyof D]?: Widen<D[K]> };

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
