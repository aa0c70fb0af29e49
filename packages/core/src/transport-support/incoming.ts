import type { WireMetadata } from '../protocol/types.js';
import type { IncomingContext, IncomingCredentials } from '../transport.js';

/**
 * Credentials whose `headers` are built by `read` when first read: the server reads a request's
 * credentials every time, their headers are needed only by an `authenticate` hook. `user` is
 * the peer's verified identity, if any (see {@link certificateUser}).
 */
export function lazyCredentials(
  read: () => Readonly<Record<string, string>>,
  user: string | undefined,
): IncomingCredentials {
  let headers: Readonly<Record<string, string>> | undefined;
  return {
    get headers() {
      headers ??= read();
      return headers;
    },
    ...(user !== undefined && { user }),
  };
}

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
 * (an HTTP request; any transport with a connection per request). What a small call never needs
 * is built only when read: its credentials (see {@link lazyCredentials}) and its signal, an
 * `AbortController` and a listener on the connection, a measurable share of a small call's cost.
 * The adapter's subclass says how to read the headers and the peer's identity, and when the
 * caller is gone.
 */
export abstract class LazyIncoming implements IncomingContext {
  abstract readonly transport: string;
  private cachedCredentials: IncomingCredentials | undefined;
  private controller: AbortController | undefined;

  constructor(
    readonly metadata: WireMetadata,
    readonly remoteAddress: string | undefined,
  ) {}

  /** The request's headers as one record (lower-case names), read only for an `authenticate` hook. */
  protected abstract headers(): Readonly<Record<string, string>>;

  /** The peer's verified identity (e.g. {@link certificateUser}), read with the credentials. */
  protected abstract user(): string | undefined;

  /**
   * Calls `gone` once, when the caller leaves before its answer is written (at once if it has
   * already); read only when a handler reads the signal.
   */
  protected abstract watch(gone: () => void): void;

  get credentials(): IncomingCredentials {
    this.cachedCredentials ??= lazyCredentials(() => this.headers(), this.user());
    return this.cachedCredentials;
  }

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
