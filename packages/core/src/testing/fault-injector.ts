import {
  ConnectionLostError,
  NotSentError,
  ProtocolError,
  RejectedError,
  TimeoutError,
} from '../errors/kinds.js';
import type { FailureKind, RpcError } from '../errors/rpc-error.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/types.js';
import type { ClientConnection, ClientTransport, ConnectionEvent, SendOptions } from '../transport.js';
import { type Clock, systemClock } from '../util/clock.js';
import { defaultRandom, type Random } from '../util/random.js';

/** One injected fault. */
export type Fault =
  /** The request is lost before the server sees it; the call waits for its deadline. */
  | { type: 'drop' }
  /** The server processes the request; its answer never arrives. */
  | { type: 'hang' }
  /** The request is forwarded after `ms` milliseconds. */
  | { type: 'delay'; ms: number }
  /** The attempt fails at once with `kind` (before sending for not-sent/rejected, after for the rest). */
  | { type: 'error'; kind: FailureKind }
  /** The server processes the request, then the connection closes before the answer. */
  | { type: 'close' };

/** What to inject: a script consumed one fault per send (`undefined` = pass), then random rates. */
export interface FaultPlan {
  script?: Array<Fault | undefined>;
  /** Probabilities per send, checked in this order: drop, hang, close, error, delay. */
  rates?: Partial<Record<'drop' | 'hang' | 'close' | 'error' | 'delay', number>>;
  /** Kind used by rate-based `error` faults. Default `connection-lost`. */
  errorKind?: FailureKind;
  /** Delay used by rate-based `delay` faults, ms. Default 100. */
  delayMs?: number;
  /** Decides per request, before script and rates; return undefined to fall through. */
  decide?: (request: JsonRpcRequest | readonly JsonRpcRequest[], url: string) => Fault | undefined;
}

/** Counts of what was injected. */
export interface FaultCounts {
  sends: number;
  drop: number;
  hang: number;
  delay: number;
  error: number;
  close: number;
}

function errorOf(kind: FailureKind, url: string): RpcError {
  const options = { endpoint: url };
  switch (kind) {
    case 'not-sent':
      return new NotSentError('injected: connection refused', options);
    case 'rejected':
      return new RejectedError('injected: rejected', options);
    case 'timeout':
      return new TimeoutError('injected: timeout', options);
    case 'protocol':
      return new ProtocolError('injected: malformed response', options);
    default:
      return new ConnectionLostError(`injected: ${kind}`, options);
  }
}

/**
 * Wraps a client connection and injects faults by script or by rate. Works with any transport.
 * `plan` may be changed at any time (e.g. `injector.plan = { rates: { error: 0.2 } }`).
 */
export class FaultInjector implements ClientConnection {
  readonly counts: FaultCounts = { sends: 0, drop: 0, hang: 0, delay: 0, error: 0, close: 0 };

  constructor(
    readonly inner: ClientConnection,
    public plan: FaultPlan = {},
    private readonly clock: Clock = systemClock,
    private readonly random: Random = defaultRandom,
  ) {}

  get url(): string {
    return this.inner.url;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  get status() {
    return this.inner.status;
  }
  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    return this.inner.onEvent(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  get ping() {
    return this.inner.ping
      ? (options: Parameters<NonNullable<ClientConnection['ping']>>[0]) => this.inner.ping!(options)
      : undefined;
  }

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    return this.apply(request, options, () => this.inner.send(request, options));
  }

  sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    if (!this.inner.sendBatch) return Promise.reject(new NotSentError('the inner connection has no batches'));
    return this.apply(requests, options, () => this.inner.sendBatch!(requests, options));
  }

  private next(request: JsonRpcRequest | readonly JsonRpcRequest[]): Fault | undefined {
    const decided = this.plan.decide?.(request, this.url);
    if (decided) return decided;
    const script = this.plan.script;
    if (script && script.length > 0) return script.shift();
    const rates = this.plan.rates;
    if (!rates) return undefined;
    if (rates.drop && this.random() < rates.drop) return { type: 'drop' };
    if (rates.hang && this.random() < rates.hang) return { type: 'hang' };
    if (rates.close && this.random() < rates.close) return { type: 'close' };
    if (rates.error && this.random() < rates.error)
      return { type: 'error', kind: this.plan.errorKind ?? 'connection-lost' };
    if (rates.delay && this.random() < rates.delay) return { type: 'delay', ms: this.plan.delayMs ?? 100 };
    return undefined;
  }

  private apply<T>(
    request: JsonRpcRequest | readonly JsonRpcRequest[],
    options: SendOptions,
    forward: () => Promise<T>,
  ): Promise<T> {
    this.counts.sends++;
    const fault = this.next(request);
    if (fault === undefined) return forward();
    this.counts[fault.type]++;
    const { signal } = options;
    const untilAborted = () =>
      new Promise<never>((_resolve, reject) => {
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    switch (fault.type) {
      case 'drop':
        return untilAborted();
      case 'hang':
        forward().catch(() => {});
        return untilAborted();
      case 'close':
        return forward().then(
          () =>
            Promise.reject(
              new ConnectionLostError('injected: connection closed before the answer', {
                endpoint: this.url,
              }),
            ),
          (error) => Promise.reject(error),
        );
      case 'error': {
        const error = errorOf(fault.kind, this.url);
        if (fault.kind === 'not-sent' || fault.kind === 'rejected') return Promise.reject(error);
        return forward().then(
          () => Promise.reject(error),
          () => Promise.reject(error),
        );
      }
      case 'delay':
        return new Promise<T>((resolve, reject) => {
          const timer = this.clock.setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            forward().then(resolve, reject);
          }, fault.ms);
          const onAbort = () => {
            timer.cancel();
            reject(signal.reason);
          };
          signal.addEventListener('abort', onAbort, { once: true });
        });
    }
  }
}

/**
 * Wraps a client transport so every connection it opens goes through a {@link FaultInjector};
 * `planFor(url)` gives each endpoint its plan. The injectors are kept in `injectors` by URL.
 */
export function faultyTransport(
  inner: ClientTransport,
  planFor: (url: string) => FaultPlan,
  clock: Clock = systemClock,
  random: Random = defaultRandom,
): ClientTransport & { readonly injectors: Map<string, FaultInjector> } {
  const injectors = new Map<string, FaultInjector>();
  return {
    name: inner.name,
    schemes: inner.schemes,
    injectors,
    connect(url, options) {
      const injector = new FaultInjector(inner.connect(url, options), planFor(url), clock, random);
      injectors.set(url, injector);
      return injector;
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  };
}
