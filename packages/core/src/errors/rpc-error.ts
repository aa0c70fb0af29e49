/**
 * How a call failed, and therefore whether it is safe to try again (docs/architecture.md,
 * "Failure kinds").
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
const NO_ATTEMPTS: readonly RpcError[] = Object.freeze([]);

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
  /**
   * The failure is this process's own admission control (a full bulkhead or socket buffer): it
   * says nothing about the peer's health. Default false.
   */
  local?: boolean;
  /** Every attempt's error of the call this error ends, in order (see {@link RpcError.attempts}). */
  attempts?: readonly RpcError[];
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
  /** What kind of failure this is; for a call that made several attempts, the last attempt's kind. */
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
  /** True for this process's own admission control (see {@link RpcErrorOptions.local}). */
  readonly local: boolean;
  /**
   * Every attempt's error, in order, when this error ends a call that made more than one attempt;
   * otherwise empty (the error itself is the only attempt's).
   */
  readonly attempts: readonly RpcError[];
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
    this.local = options.local ?? false;
    this.attempts = options.attempts ?? NO_ATTEMPTS;
  }

  /** True for any resilient-rpc error, even one created by another copy of this package. */
  static isInstance(value: unknown): value is RpcError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}
