import type { WireMetadata } from '../protocol/types.js';
import type { IncomingContext, IncomingCredentials } from '../transport.js';

/**
 * The `credentials.user` of a client certificate the TLS layer verified: its subject's CN, else
 * the whole subject (`key=value` joined by `,`, several values of one key by `+`); undefined for
 * an empty or missing subject.
 */
export function certificateUser(
  subject: Readonly<Record<string, string | readonly string[]>> | undefined,
): string | undefined {
  if (subject === undefined || Object.keys(subject).length === 0) return undefined;
  const cn = subject.CN;
  if (typeof cn === 'string') return cn;
  return Object.entries(subject)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : value.join('+')}`)
    .join(',');
}

/**
 * The context of one request on a connection the caller may leave before the answer is written
 * (an HTTP request; any transport with a connection per request). Its signal, an
 * `AbortController` and a listener on the connection, a measurable share of a small call's cost,
 * is built only when a handler reads it; the adapter's subclass says when the caller is gone, and
 * gives the request's `credentials` (built lazily as well: see the HTTP transport's, with
 * {@link certificateUser}).
 */
export abstract class LazyIncoming implements IncomingContext {
  abstract readonly transport: string;
  abstract readonly credentials: IncomingCredentials;
  private controller: AbortController | undefined;

  constructor(
    readonly metadata: WireMetadata,
    readonly remoteAddress: string | undefined,
  ) {}

  /**
   * Calls `gone` once, when the caller leaves before its answer is written (at once if it has
   * already); called only when a handler reads the signal.
   */
  protected abstract watch(gone: () => void): void;

  /** Aborts when the caller closes the connection before its answer is written. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      this.watch(() => controller.abort(new Error('the client closed the connection')));
    }
    return this.controller.signal;
  }
}
