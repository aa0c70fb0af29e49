/** The typed proxy of an API interface: every method returns a promise of its result. */
export type ApiProxy<Api> = {
  readonly [K in keyof Api as K extends string ? K : never]: Api[K] extends (
    ...args: infer Args
  ) => infer Result
    ? (...args: Args) => Promise<Awaited<Result>>
    : never;
};

/** Builds a proxy whose properties call `invoke(name, args)`. Symbols and `then` are not methods. */
export function createProxy<Api>(
  invoke: (method: string, args: unknown[]) => Promise<unknown>,
): ApiProxy<Api> {
  return new Proxy(Object.create(null), {
    get(_target, property) {
      // `then` must stay undefined, or `await proxy` would call a remote method named "then".
      if (typeof property !== 'string' || property === 'then') return undefined;
      return (...args: unknown[]) => invoke(property, args);
    },
  }) as ApiProxy<Api>;
}
