import { ConnectionLostError, NotSentError } from '../errors/kinds.js';
import { parseResponseText } from '../protocol/messages.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/types.js';
import type {
  ClientConnection,
  ClientTransport,
  ConnectionEvent,
  Dispatcher,
  SendOptions,
  ServerListener,
  TransportCapabilities,
} from '../transport.js';
import { type Clock, systemClock } from '../util/clock.js';

const CAPABILITIES: TransportCapabilities = { batch: true, ping: false, persistentConnection: false };

interface Pending {
  readonly reject: (error: unknown) => void;
}

/**
 * A listener on a {@link MemoryNetwork}. Besides the ServerListener contract it can be made to
 * fail like a real process: `crash()` (in-flight calls lose their connection, new ones are
 * refused), `hang()` (requests are accepted and never answered), `restart()`.
 */
export class MemoryListener implements ServerListener {
  readonly transport = 'memory';
  dispatcher: Dispatcher | undefined;
  accepting = false;
  hung = false;
  crashed = false;
  /** Milliseconds added before each answer (on the network's clock). */
  latencyMs = 0;
  /** Requests delivered to the dispatcher. */
  delivered = 0;
  /** Aborts when the "process" dies: the handlers of every request in flight see their caller gone. */
  connectionGone = new AbortController();
  readonly pending = new Set<Pending>();

  constructor(
    readonly name: string,
    private readonly network: MemoryNetwork,
  ) {}

  get urls(): readonly string[] {
    return [`memory://${this.name}`];
  }

  async start(dispatcher: Dispatcher): Promise<void> {
    this.dispatcher = dispatcher;
    this.accepting = true;
    this.crashed = false;
    this.network.register(this);
  }

  async stopAccepting(): Promise<void> {
    this.accepting = false;
  }

  async close(): Promise<void> {
    this.accepting = false;
    this.network.unregister(this);
    this.dropAll('the server closed the connection');
  }

  /** Like SIGKILL: every in-flight call loses its connection; new calls are refused. */
  crash(): void {
    this.crashed = true;
    this.dropAll('the server crashed');
  }

  /** Like SIGSTOP: requests are accepted but never answered until `resume()`. */
  hang(): void {
    this.hung = true;
  }

  resume(): void {
    this.hung = false;
  }

  /** Comes back after a crash. */
  restart(): void {
    this.crashed = false;
    this.hung = false;
  }

  private dropAll(reason: string): void {
    this.connectionGone.abort();
    this.connectionGone = new AbortController();
    for (const pending of [...this.pending]) pending.reject(new ConnectionLostError(reason));
    this.pending.clear();
  }
}

/** A registry of in-memory listeners by name: `memory://<name>`. */
export class MemoryNetwork {
  private readonly listeners = new Map<string, MemoryListener>();

  constructor(readonly clock: Clock = systemClock) {}

  /** A new listener named `name` (serve it with `server.listen(listener)`). */
  listener(name: string): MemoryListener {
    return new MemoryListener(name, this);
  }

  register(listener: MemoryListener): void {
    this.listeners.set(listener.name, listener);
  }

  unregister(listener: MemoryListener): void {
    if (this.listeners.get(listener.name) === listener) this.listeners.delete(listener.name);
  }

  lookup(name: string): MemoryListener | undefined {
    return this.listeners.get(name);
  }
}

class MemoryConnection implements ClientConnection {
  readonly capabilities = CAPABILITIES;
  status: ClientConnection['status'] = 'open';
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private closed = false;

  constructor(
    readonly url: string,
    private readonly network: MemoryNetwork,
  ) {}

  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined> {
    return this.exchange(request, options) as Promise<JsonRpcResponse | undefined>;
  }

  sendBatch(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]> {
    return this.exchange(requests, options).then((response) =>
      // One error for the whole batch (too large, not JSON) comes back alone, as on the wire.
      response === undefined ? [] : Array.isArray(response) ? response : [response as JsonRpcResponse],
    );
  }

  onEvent(listener: (event: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.status = 'closed';
  }

  private exchange(message: unknown, options: SendOptions): Promise<unknown> {
    const name = this.url.slice('memory://'.length);
    const listener = this.network.lookup(name);
    if (this.closed)
      return Promise.reject(new NotSentError('the connection is closed', { endpoint: this.url }));
    if (
      listener === undefined ||
      listener.crashed ||
      !listener.accepting ||
      listener.dispatcher === undefined
    ) {
      return Promise.reject(
        new NotSentError(`connection refused: nothing listens on ${this.url}`, { endpoint: this.url }),
      );
    }
    if (options.signal.aborted) return Promise.reject(options.signal.reason);
    const text = JSON.stringify(message);
    const dispatcher = listener.dispatcher;
    return new Promise((resolve, reject) => {
      let settled = false;
      const pending: Pending = {
        reject: (error) => settle(() => reject(error)),
      };
      const onAbort = () => settle(() => reject(options.signal.reason));
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        listener.pending.delete(pending);
        options.signal.removeEventListener('abort', onAbort);
        action();
      };
      listener.pending.add(pending);
      options.signal.addEventListener('abort', onAbort, { once: true });
      if (listener.hung) return; // a stopped process: the request sits in a socket buffer, unprocessed
      listener.delivered++;
      const context = {
        transport: 'memory',
        metadata: options.metadata,
        signal: listener.connectionGone.signal,
        remoteAddress: 'memory',
      };
      dispatcher.handleText(text, context).then(
        (responseText) => {
          if (listener.hung) return; // accepted, never answered: only the caller's signal settles it
          const deliver = () =>
            settle(() => {
              if (responseText === undefined) resolve(undefined);
              else {
                try {
                  resolve(parseResponseText(responseText));
                } catch (error) {
                  reject(error);
                }
              }
            });
          if (listener.latencyMs > 0) this.network.clock.setTimeout(deliver, listener.latencyMs);
          else deliver();
        },
        (error) => settle(() => reject(new ConnectionLostError('the server failed', { cause: error }))),
      );
    });
  }
}

/**
 * The in-memory transport (`memory://<name>`): the full JSON text round trip through a real core
 * server, with no sockets. Used by unit tests, simulations and the policy benchmark.
 */
export function memoryTransport(network: MemoryNetwork): ClientTransport {
  return {
    name: 'memory',
    schemes: ['memory'],
    connect: (url) => new MemoryConnection(url, network),
    listen: (url) => network.listener(listenName(url)),
  };
}

/** The listener name of a `memory://<name>` listen URL; anything else is a TypeError. */
function listenName(url: string): string {
  const prefix = 'memory://';
  const name =
    typeof url === 'string' && url.toLowerCase().startsWith(prefix) ? url.slice(prefix.length) : '';
  if (name.length === 0) throw new TypeError(`a memory listen URL is memory://<name> (got "${String(url)}")`);
  return name;
}
