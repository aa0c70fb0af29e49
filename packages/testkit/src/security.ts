import { ErrorCodes, type MethodTable, RemoteError, refuse, type ServerOptions } from '@resilient-rpc/core';

/** The principal the security tests' `authenticate` hook returns. */
export interface Principal {
  user: string;
  role: 'admin' | 'reader';
}

/** Bearer tokens the security tests accept: alice is an admin, bob a reader. */
export const TEST_TOKENS: Readonly<Record<string, Principal>> = {
  'Bearer alice-token': { user: 'alice', role: 'admin' },
  'Bearer bob-token': { user: 'bob', role: 'reader' },
};

/**
 * The tests' `authenticate` hook: no `authorization` header or an unknown token is
 * `unauthenticated`; `admin.*` methods are `forbidden` to non-admins.
 */
export const bearerAuthenticate: NonNullable<ServerOptions['authenticate']> = (credentials, { method }) => {
  const header = credentials?.headers.authorization;
  if (header === undefined) return refuse('unauthenticated', 'missing bearer token');
  const principal = TEST_TOKENS[header];
  if (principal === undefined) return refuse('unauthenticated', 'invalid token');
  if (method.startsWith('admin.') && principal.role !== 'admin') return refuse('forbidden', 'admins only');
  return principal;
};

/**
 * The security tests' methods, each counting its runs in `executed` (so a test can prove a
 * refused call never ran): whoami, admin.reset, report (per-method authorization in the
 * handler), echo and sleep. `count(name)` counts a method a test adds itself.
 */
export function securityMethods(): {
  methods: MethodTable;
  executed: Record<string, number>;
  count: (name: string) => void;
} {
  const executed: Record<string, number> = {};
  const count = (name: string) => {
    executed[name] = (executed[name] ?? 0) + 1;
  };
  const methods: MethodTable = {
    whoami: (_params: unknown, context) => {
      count('whoami');
      return context.auth ?? null;
    },
    'admin.reset': () => {
      count('admin.reset');
      return 'reset';
    },
    report: (_params: unknown, context) => {
      // Per-method authorization in the handler, through the principal authenticate returned.
      if ((context.auth as Principal | undefined)?.role !== 'admin')
        throw new RemoteError('only admins may read the report', { code: ErrorCodes.Forbidden });
      count('report');
      return 'the report';
    },
    echo: (params: unknown) => {
      count('echo');
      return params;
    },
    sleep: async ([ms]: [number]) => {
      count('sleep');
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    },
  };
  return { methods, executed, count };
}
