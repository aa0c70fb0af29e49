/**
 * The API interface that types `client.proxy<Api>()` also checks the server's handler table.
 * This file is type-checked by `pnpm --filter @resilient-rpc/core typecheck`: every
 * `@ts-expect-error` below must be an error, or the typecheck fails.
 */
import {
  type ApiHandlers,
  createClient,
  createServer,
  ErrorCodes,
  type HandlerContext,
  implement,
} from '@resilient-rpc/core';
import { MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';

interface Inventory {
  add(a: number, b: number): number;
  find(name: string, limit?: number): Promise<string[]>;
  reset(): void;
}

describe('a typed server: implement<Api>(handlers)', () => {
  it('type-checks the handler table against the API interface', () => {
    const handlers = implement<Inventory>({
      add: ([a, b]) => a + b,
      find: async ([name, limit], context: HandlerContext) => {
        context.signal.throwIfAborted();
        return [name].slice(0, limit ?? 10);
      },
      reset: { handler: () => undefined },
    });
    expect(Object.keys(handlers).sort()).toEqual(['add', 'find', 'reset']);

    implement<Inventory>({
      // @ts-expect-error wrong parameter types: add takes numbers
      add: ([a, b]: [string, string]) => Number(a) + Number(b),
      find: async ([name]) => [name],
      reset: () => {},
    });
    implement<Inventory>({
      // @ts-expect-error wrong result type: add returns a number
      add: ([a, b]) => `${a + b}`,
      find: async ([name]) => [name],
      reset: () => {},
    });
    implement<Inventory>({
      add: ([a, b]) => a + b,
      // @ts-expect-error wrong result type: find resolves to string[]
      find: async ([name]) => name,
      reset: () => {},
    });
    implement<Inventory>({
      add: ([a, b]) => a + b,
      // @ts-expect-error a definition's handler is checked too
      find: { handler: ([name]: [number]) => [String(name)], paramNames: ['name', 'limit'] },
      reset: () => {},
    });
    // @ts-expect-error missing method: reset
    implement<Inventory>({
      add: ([a, b]) => a + b,
      find: async ([name]) => [name],
    });
    implement<Inventory>({
      add: ([a, b]) => a + b,
      find: async ([name]) => [name],
      reset: () => {},
      // @ts-expect-error a method the API does not have
      remove: () => {},
    });
    const table: ApiHandlers<Inventory> = {
      add: ([a, b]) => a + b,
      find: async () => [],
      reset: () => {},
    };
    expect(typeof table.add).toBe('function');
  });

  it('serves what client.proxy<Api>() calls, params by position', async () => {
    const network = new MemoryNetwork();
    const transport = memoryTransport(network);
    const resets: number[] = [];
    const server = createServer({
      transports: [transport],
      methods: implement<Inventory>({
        add: ([a, b]) => a + b,
        find: { paramNames: ['name', 'limit'], handler: async ([name, limit]) => [name, String(limit)] },
        reset: () => {
          resets.push(1);
        },
      }),
    });
    await server.listen('memory://inventory');
    const client = createClient({ transports: [transport], endpoints: ['memory://inventory'] });
    try {
      const api = client.proxy<Inventory>();
      expect(await api.add(2, 3)).toBe(5);
      expect(await api.find('bolt', 4)).toEqual(['bolt', '4']);
      expect(await api.reset()).toBeNull();
      expect(resets).toEqual([1]);
      // Named params reach a method only through its paramNames, in their order.
      expect(await client.call('find', { limit: 2, name: 'nut' })).toEqual(['nut', '2']);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('answers named params to a positional method without paramNames with -32602, not a crash', async () => {
    const seen: unknown[] = [];
    const server = createServer({
      onError: (error) => seen.push(error),
      methods: implement<Inventory>({
        add: ([a, b]) => a + b,
        find: async ([name]) => [name],
        reset: () => {},
      }),
    });
    const answer = async (text: string) => JSON.parse((await server.dispatcher.handleText(text, context))!);
    const named = await answer('{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2},"id":1}');
    expect(named.error.code).toBe(ErrorCodes.InvalidParams);
    expect(named.error.data.reason).toMatch(/position/);
    // Absent params are an empty argument list, as a call with no arguments sends.
    expect((await answer('{"jsonrpc":"2.0","method":"reset","id":2}')).result).toBeNull();
    expect(seen).toEqual([]);
  });

  it('refuses handlers that are not functions at runtime too', () => {
    expect(() => implement<Inventory>({ add: 1, find: 2, reset: 3 } as never)).toThrow(TypeError);
  });
});

const context = { transport: 'test', metadata: {} };
