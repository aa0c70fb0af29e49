import type { ClientTransport, Dispatcher, ServerListener } from '../transport.js';
import { positiveNumber } from '../transport-support/options.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { Authenticate } from './authentication.js';
import { ServerDefaults } from './defaults.js';
import { MessageDispatcher } from './dispatcher.js';
import type { ServerInstrumentation } from './instrumentation.js';
import { listenerFor, transportsByScheme } from './listen-url.js';
import { MethodRegistry } from './method-registry.js';
import { RequestHandler } from './request-handler.js';
import type { MethodDefinition, MethodHandler, MethodTable } from './types.js';

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The methods served: handlers by name (`implement<Api>({...})` checks them against an API type). */
  methods?: MethodTable;
  /**
   * Transports whose `listen(url)` creates the listener for a listen URL of their schemes, so that
   * `server.listen('http://0.0.0.0:3000/rpc')` needs no transport-specific code: register the
   * installed transports once (`[httpTransport(), wsTransport(), natsTransport()]`) and take the
   * listen URLs from configuration. Default: none (pass listener objects to `listen`).
   */
  transports?: readonly ClientTransport[];
  /** Largest message accepted, in bytes. Default {@link ServerDefaults.maxMessageBytes} (1 MiB). */
  maxMessageBytes?: number;
  /** Most requests in one batch. Default {@link ServerDefaults.maxBatchSize} (100). */
  maxBatchSize?: number;
  /** Most requests in flight across all transports. Default {@link ServerDefaults.maxInFlight} (10 000). */
  maxInFlight?: number;
  /**
   * Longest caller deadline honoured, in ms: a longer one (header `rpc-deadline-ms` or `meta`) is
   * clamped to it. Default {@link ServerDefaults.maxDeadlineMs} (24 h).
   */
  maxDeadlineMs?: number;
  /**
   * Called before every request is dispatched with the transport's credentials. Return a
   * principal (handlers see it as `context.auth`), or throw / return `refuse(reason, message)`
   * to refuse: the request is never dispatched.
   */
  authenticate?: Authenticate;
  /** Send handler error details (stack, cause) to clients. Default false: they go to `onError` only. */
  exposeErrorDetails?: boolean;
  /** Sees every handler error with its full detail (log it). */
  onError?: (error: unknown, context: { method: string; transport: string }) => void;
  /** Sees every request and its outcome (tracing, metrics). Default none: no cost. */
  instrumentation?: ServerInstrumentation;
  /** Time source for deadlines. Default: the system clock. */
  clock?: Clock;
}

/** Options of {@link RpcServer.drain}. */
export interface DrainOptions {
  /** How long to wait for in-flight requests, in ms; then their signals abort. Default 30 s. */
  timeoutMs?: number;
}

/** A JSON-RPC server: one method table served on any number of transports. */
export interface RpcServer {
  /** Starts a transport listener with this server's methods; resolves once it listens. */
  listen<L extends ServerListener>(listener: L): Promise<L>;
  /**
   * Listens on a URL (`http://0.0.0.0:3000/rpc`, `ws://0.0.0.0:3001/rpc`,
   * `nats://127.0.0.1:4222/orders.rpc`): the transport registered in
   * {@link ServerOptions.transports} for the URL's scheme creates the listener. Rejects with a
   * TypeError naming the schemes there are when no registered transport can listen on it.
   */
  listen(url: string | URL): Promise<ServerListener>;
  /** Client URLs of every listener. */
  readonly urls: readonly string[];
  /** The dispatcher transports call (exposed for custom transports and tests). */
  readonly dispatcher: Dispatcher;
  /** Registers another method at runtime. */
  addMethod(name: string, method: MethodHandler | MethodDefinition): void;
  /**
   * Graceful shutdown: stop accepting (new requests are rejected as not processed), finish
   * in-flight requests (aborting them after `timeoutMs`), then close every listener.
   */
  drain(options?: DrainOptions): Promise<void>;
  /** `drain({ timeoutMs: 0 })`: aborts in-flight handlers at once. */
  close(): Promise<void>;
  /** Requests being handled. */
  readonly inFlight: number;
}

/**
 * Creates a server. Serve it with `server.listen('http://0.0.0.0:3000/rpc')` (transports given
 * in `transports`) or `server.listen(httpListener({ port: 0 }))`.
 */
export function createServer(options: ServerOptions = {}): RpcServer {
  const clock = options.clock ?? systemClock;
  const transports = transportsByScheme(options.transports);
  const registry = new MethodRegistry(options.methods, { 'rpc.ping': () => 'pong' });
  const report = options.onError;
  // A logger that throws must not turn an answer into a rejection nobody handles.
  const onError =
    report === undefined
      ? undefined
      : (error: unknown, context: { method: string; transport: string }) => {
          try {
            report(error, context);
          } catch {
            // the answer still goes out
          }
        };
  const requests = new RequestHandler({
    clock,
    maxInFlight: positive(options.maxInFlight, ServerDefaults.maxInFlight, 'maxInFlight'),
    registry,
    authenticate: options.authenticate,
    exposeErrorDetails: options.exposeErrorDetails === true,
    onError,
    instrumentation: options.instrumentation,
  });
  const dispatcher = new MessageDispatcher(requests, {
    limits: {
      maxMessageBytes: positive(options.maxMessageBytes, ServerDefaults.maxMessageBytes, 'maxMessageBytes'),
      maxBatchSize: positive(options.maxBatchSize, ServerDefaults.maxBatchSize, 'maxBatchSize'),
    },
    maxDeadlineMs: positive(options.maxDeadlineMs, ServerDefaults.maxDeadlineMs, 'maxDeadlineMs'),
    onError,
  });
  const listeners: ServerListener[] = [];
  let drainPromise: Promise<void> | undefined;

  /** Waits for the requests in flight, at most `timeoutMs`; then aborts them. */
  async function finishInFlight(timeoutMs: number): Promise<void> {
    if (requests.inFlight === 0) return;
    if (timeoutMs <= 0) {
      requests.abortAll();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(() => {
        requests.abortAll();
        resolve();
      }, timeoutMs);
      requests.idle().then(() => {
        timer.cancel();
        resolve();
      });
    });
  }

  return {
    async listen<L extends ServerListener>(target: L | string | URL): Promise<L | ServerListener> {
      if (!requests.accepting) throw new Error('the server is draining; it cannot listen on new transports');
      const listener =
        typeof target === 'string' || target instanceof URL
          ? listenerFor(transports, String(target))
          : target;
      if (typeof listener !== 'object' || listener === null || typeof listener.start !== 'function') {
        throw new TypeError(
          `server.listen takes a listen URL (e.g. 'http://0.0.0.0:3000/rpc') or a listener (got ${describeValue(target)})`,
        );
      }
      await listener.start(dispatcher);
      listeners.push(listener);
      return listener;
    },
    get urls() {
      return listeners.flatMap((listener) => listener.urls);
    },
    dispatcher,
    addMethod(name, method) {
      registry.add(name, method);
    },
    drain(drainOptions = {}) {
      drainPromise ??= (async () => {
        requests.accepting = false;
        await Promise.allSettled(listeners.map((listener) => listener.stopAccepting()));
        const timeoutMs = drainOptions.timeoutMs ?? ServerDefaults.drainTimeoutMs;
        // Handlers aborted without waiting: the listeners need not wait for their answers.
        const forced = timeoutMs <= 0 && requests.inFlight > 0;
        await finishInFlight(timeoutMs);
        requests.stopTimers();
        // The last handler has returned, but its answer is written by the transport a few
        // microtasks later: give it one macrotask before the listeners close their sockets.
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        await Promise.allSettled(listeners.map((listener) => listener.close({ forced })));
      })();
      return drainPromise;
    },
    close() {
      return this.drain({ timeoutMs: 0 });
    },
    get inFlight() {
      return requests.inFlight;
    },
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  return value === undefined ? fallback : positiveNumber(name, value);
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? 'an object without start()' : `${typeof value} ${String(value)}`;
}
