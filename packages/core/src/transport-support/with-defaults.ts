/** The type of a defaults object (`as const`) with its literal types widened: what options may set. */
export type Widened<D> = {
  -readonly [K in keyof D]: D[K] extends number ? number : D[K] extends string ? string : D[K];
};

/**
 * An adapter's options with its defaults applied: `defaults`, overridden by every option that is
 * set (an option given as `undefined` or `null` keeps its default).
 */
export function withDefaults<D extends object, O extends object>(defaults: D, options: O): Widened<D> & O {
  const result: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [name, value] of Object.entries(options)) if (value != null) result[name] = value;
  return result as Widened<D> & O;
}
