import type { HandlerContext, MethodDefinition, MethodTable } from './types.js';

/**
 * A handler of one method of an API interface: it receives the method's arguments as the tuple
 * `client.proxy<Api>()` sends (`api.add(1, 2)` → `[1, 2]`) and returns (or resolves to) the
 * method's result.
 */
export type TypedHandler<Args extends readonly unknown[], Result> = (
  params: Args,
  context: HandlerContext,
) => Result | Promise<Result>;

/** A method of an API interface with options: its handler, and `paramNames` to accept named params. */
export interface TypedMethodDefinition<Args extends readonly unknown[], Result> {
  handler: TypedHandler<Args, Result>;
  /**
   * The parameter names in positional order: params sent by name (`{"a":1,"b":2}`) are turned
   * into the tuple in this order; a missing or unknown name is -32602. Default: by position only.
   */
  paramNames?: readonly string[];
}

/**
 * The handler table of an API interface: one handler (or definition) for every method, with the
 * method's parameter tuple and result. The interface is the one that types `client.proxy<Api>()`:
 *
 * ```ts
 * interface Api { add(a: number, b: number): number }
 * const methods: ApiHandlers<Api> = { add: ([a, b]) => a + b };
 * ```
 */
export type ApiHandlers<Api> = {
  [K in keyof Api as K extends string ? K : never]: Api[K] extends (...args: infer Args) => infer Result
    ? TypedHandler<Args, Awaited<Result>> | TypedMethodDefinition<Args, Awaited<Result>>
    : never;
};

/**
 * Checks a handler table against an API interface at compile time and returns it as the server's
 * method table: `createServer({ methods: implement<Api>({ add: ([a, b]) => a + b }) })`. A
 * missing method, a method the interface lacks, wrong parameter types or a wrong result type
 * fail to type-check.
 *
 * At run time its methods take params by position, as the proxy sends them: absent params are
 * `[]`, and params sent by name are -32602 Invalid params unless the method lists `paramNames`.
 * So a handler always receives an array and never fails on another caller's named params.
 * Throws a TypeError when an entry is not a function or a definition with a `handler`.
 */
export function implement<Api>(handlers: ApiHandlers<Api>): MethodTable {
  const table: MethodTable = {};
  const given = handlers as unknown as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    const entry = given[name];
    const definition = (typeof entry === 'function' ? { handler: entry } : entry) as
      | MethodDefinition
      | undefined;
    if (typeof definition !== 'object' || definition === null || typeof definition.handler !== 'function')
      throw new TypeError(`method "${name}" needs a handler function`);
    table[name] = { ...definition, positional: true };
  }
  return table;
}
