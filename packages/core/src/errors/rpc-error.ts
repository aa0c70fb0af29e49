/**
 * How a call failed, and therefore whether it is safe to try again (DESIGN.md §4).
 *
 * | kind | processed by the server? | retried |
 * | --- | --- | --- |
 * | `not-sent` | no | always, on another endpoint |
 * | `rejected` | no (the server says so) | always; honours `retryAfterMs` |
 * | `timeout` | maybe | only idempotent calls |
 * | `connection-lost` | maybe | only idempotent calls |
 * | `remote` | yes | only when the server marks the error retryable |
 * | `protocol` | maybe | never |
 * | `cancelled` | — | never |
 */
export type FailureKind =
  | 'not-sent'
  | 'rejected'
  | 'timeout'
  | 'connection-lost'
  | 'remote'
  | 'protocol'
  | 'cancelled';

/** All failure kinds, in table order. */
export const FAILURE_KINDS: readonly FailureKind[] = [
  'not-sent',
  'rejected',
  'timeout',
  'connection-lost',
  'remote',
  'protocol',
  'cancelled',
];

const MARKER = Symbol.for('resilient-rpc.error');

/** Options shared by every {@link RpcError}. */
export interface RpcErrorOptions {
  /** The error this one wraps (kept, never replaced). */
  cause?: unknown;
  /** Overrides the kind's default retry safety (e.g. a remote error the server marks retryable). */
  retryable?: boolean;
  /** The endpoint URL the failure happened on, when known. */
  endpoint?: string;
  /** JSON-RPC error code, for `remote` errors and server conditions. */
  code?: number;
  /** JSON-RPC error `data`, for `remote` errors. */
  data?: unknown;
  /** A server's hint of how long to wait before retrying, in milliseconds. */
  retryAfterMs?: number;
}

/** Whether a failure of this kind is safe to retry for a call that is not idempotent. */
export function isKindRetryableByDefault(kind: FailureKind): boolean {
  return kind === 'not-sent' || kind === 'rejected';
}

/**
 * The one error type of resilient-rpc. Every failure a call can end with is an `RpcError` with a
 * {@link FailureKind}. Use {@link RpcError.isInstance} rather than `instanceof`: it works across
 * duplicate installs of the package.
 */
export class RpcError extends Error {
  /** What kind of failure this is (DESIGN.md §4). */
  readonly kind: FailureKind;
  /**
   * Whether a retry is safe whatever the call's idempotency: true for `not-sent` and `rejected`,
   * and for `remote` errors the server marked retryable. `timeout` and `connection-lost` are
   * retried only for idempotent calls; the retry policy decides that.
   */
  readonly retryable: boolean;
  readonly endpoint: string | undefined;
  readonly code: number | undefined;
  readonly data: unknown;
  readonly retryAfterMs: number | undefined;
  protected readonly [MARKER] = true;

  constructor(kind: FailureKind, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RpcError';
    this.kind = kind;
    this.retryable = options.retryable ?? isKindRetryableByDefault(kind);
    this.endpoint = options.endpoint;
    this.code = options.code;
    this.data = options.data;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** True for any resilient-rpc error, even one created by another copy of this package. */
  static isInstance(value: unknown): value is RpcError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}
