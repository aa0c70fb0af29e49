import type { IncomingCredentials } from '../transport.js';

/** The result of an `authenticate` hook that refuses a request. */
export interface AuthenticationFailure {
  /** `unauthenticated` (missing/invalid credentials, HTTP 401) or `forbidden` (HTTP 403). */
  reason: 'unauthenticated' | 'forbidden';
  message?: string;
}

/** What the `authenticate` hook learns about the request. */
export interface AuthenticationRequest {
  readonly method: string;
  readonly transport: string;
  readonly remoteAddress: string | undefined;
}

/**
 * The server's `authenticate` hook: called before every request is dispatched with the
 * transport's credentials. Returns (or resolves to) the principal, or a {@link refuse} refusal.
 */
export type Authenticate = (
  credentials: IncomingCredentials | undefined,
  request: AuthenticationRequest,
) => unknown;

const REFUSAL = Symbol.for('resilient-rpc.refusal');

/** Returns a refusal for the `authenticate` hook: `return refuse('forbidden', 'admins only')`. */
export function refuse(reason: AuthenticationFailure['reason'], message?: string): AuthenticationFailure {
  const failure = { reason, ...(message !== undefined && { message }) } as AuthenticationFailure;
  (failure as unknown as Record<symbol, boolean>)[REFUSAL] = true;
  return failure;
}

/** Whether an `authenticate` hook's result is a {@link refuse} refusal. */
export function isRefusal(value: unknown): value is AuthenticationFailure {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[REFUSAL] === true;
}
