import type { MethodDefinition, MethodHandler, MethodTable } from './types.js';

/** Internal, normalised form of a registered method. */
export interface RegisteredMethod {
  readonly name: string;
  readonly handler: MethodHandler;
  readonly paramNames: readonly string[] | undefined;
  /** Params by position only (see {@link MethodDefinition.positional}). */
  readonly positional: boolean;
}

const RESERVED_PREFIX = 'rpc.';

/**
 * Methods by name in a `Map`, so that a request for `__proto__`, `constructor` or `toString`
 * can never reach `Object.prototype`: only names registered as own properties exist.
 */
export class MethodRegistry {
  private readonly methods = new Map<string, RegisteredMethod>();

  constructor(table: MethodTable = {}, builtins: MethodTable = {}) {
    for (const name of Object.keys(builtins)) this.add(name, builtins[name]!, true);
    for (const name of Object.keys(table)) this.add(name, table[name]!, false);
  }

  /** Registers a method; names starting with `rpc.` are reserved by JSON-RPC 2.0. */
  add(name: string, method: MethodHandler | MethodDefinition, builtin = false): void {
    if (typeof name !== 'string' || name.length === 0)
      throw new TypeError('a method name must be a non-empty string');
    if (!builtin && name.startsWith(RESERVED_PREFIX)) {
      throw new TypeError(`method names starting with "rpc." are reserved (got "${name}")`);
    }
    if (this.methods.has(name) && !builtin) throw new TypeError(`method "${name}" is already registered`);
    const definition: MethodDefinition = typeof method === 'function' ? { handler: method } : method;
    if (typeof definition?.handler !== 'function')
      throw new TypeError(`method "${name}" has no handler function`);
    this.methods.set(name, {
      name,
      handler: definition.handler,
      paramNames: definition.paramNames,
      positional: definition.positional === true,
    });
  }

  get(name: string): RegisteredMethod | undefined {
    return this.methods.get(name);
  }

  names(): string[] {
    return [...this.methods.keys()];
  }
}
