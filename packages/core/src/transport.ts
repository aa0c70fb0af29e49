/**
 * The contracts every transport adapter implements. The core never imports a transport; an
 * adapter package implements {@link ClientTransport} and/or {@link ServerListener} and maps its
 * library's failures into the core's {@link FailureKind}s in one file (docs/architecture.md,
 * "Failure kinds").
 */
import type { RpcError } from './errors/rpc-error.js';
import type { JsonRpcRequest, JsonRpcResponse, WireMetadata } from './protocol/types.js';
import type { InFlightLimit } from './server/in-flight-limit.js';
import type { Clock } from './util/clock.js';
import type { Random } from './util/random.js';

/** What a transport can do; the client adapts to it. */
export interface TransportCapabilities {
  /** Several requests in one message (JSON-RPC batch): `client.batch` only picks endpoints with it (and `sendBatch`). */
  readonly batch: boolean;
  /**
   * The connection has a native, cheap liveness probe (`ClientConnection.ping`): heartbeats and
   * stall probes use it; without it they send an `rpc.ping` request.
   */
  readonly ping: boolean;
  /**
   * One long-lived connection carries many calls (WS, NATS): its loss fails every pending call at
   * once. Informational: the client learns of such a loss from the connection's status events.
   */
  readonly persistentConnection: boolean;
}

/** The life cycle of a client connection, as reported by its adapter. */
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Events a client connection reports to the core. */
export type ConnectionEvent =
  /** The connection changed state; `error` says why it closed or is reconnecting. */
  | { readonly type: 'status'; readonly status: ConnectionStatus; readonly error?: RpcError }
  /** Something arrived from the peer outside of call responses (a pong, a server ping): proof of life. */
  | { readonly type: 'activity' };

/** Options for one attempt handed to {@link ClientConnection.send}. */
export interface SendOptions {
  /**
   * Aborts when the caller cancels, the call's deadline passes, the attempt times out or another
   * attempt of the call answered first. The adapter must then stop waiting and reject promptly
   * (free the socket slot, forget the id); the core has already moved on with its own reason, so
   * the rejection's value does not matter. The signal is created when first read: an adapter that
   * never needs it (it answers at once) should not read it.
   */
  readonly signal: AbortSignal;
  /** Milliseconds this attempt may take at most (the remaining deadline or the attempt timeout). */
  readonly timeoutMs: number;
  /**
   * Metadata to carry in native headers, or in the request's `meta` member where there are none.
   * The client builds it when it is read (each read gives a new object with the same values), so
   * that a waiting attempt keeps none: read it once, when the request is written.
   */
  readonly metadata: WireMetadata;
  /** Extra headers (credentials, custom) for transports that have headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * When the attempt started, on the connection's clock (`ConnectOptions.clock`): an adapter that
   * times the call may start from it instead of reading the clock again.
   */
  readonly startedAt?: number;
}

/** Options for {@link ClientConnection.ping}. */
export interface PingOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/**
 * A client's connection to one endpoint. `send` resolves with the JSON-RPC response, or
 * `undefined` for a notification once it has been handed to the network; it rejects only with an
 * {@link RpcError} whose kind says whether the request may have been processed.
 * A JSON-RPC error response is a *resolved* response: the core turns it into a `remote` error.
 */
export interface ClientConnection {
  readonly url: string;
  readonly capabilities: TransportCapabilities;
  /** The current state; `open` where the transport has no real connection (HTTP) and nothing failed. */
  readonly status: ConnectionStatus;
  send(request: JsonRpcRequest, options: SendOptions): Promise<JsonRpcResponse | undefined>;
  /** Sends a batch; responses come back in any order (match them by id). Only when `capabilities.batch`. */
  sendBatch?(requests: readonly JsonRpcRequest[], options: SendOptions): Promise<JsonRpcResponse[]>;
  /** A cheap liveness probe (HTTP GET /health, WS ping, NATS flush). Rejects with an RpcError. */
  ping?(options: PingOptions): Promise<void>;
  /** Subscribes to connection events; returns the unsubscribe function. */
  onEvent(listener: (event: ConnectionEvent) => void): () => void;
  /** Closes the connection; pending calls settle with `connection-lost` (or `not-sent` if queued). */
  close(): Promise<void>;
}

/** What the core hands a transport when it opens a connection. */
export interface ConnectOptions {
  readonly clock: Clock;
  readonly random: Random;
  /** Credentials and custom headers configured for this endpoint. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the core hands a transport's {@link ClientTransport.discover}. */
export interface DiscoverOptions extends ConnectOptions {
  /**
   * Called with the full current set of instance URLs behind the configured URL, each time it
   * changes. An empty set means "nothing discovered": the client then uses the configured URL
   * itself (for example a queue subject whose responders do not answer discovery).
   */
  readonly update: (urls: readonly string[]) => void;
}

/** A client-side transport: it opens connections to endpoints whose URL scheme it serves. */
export interface ClientTransport {
  /** A short name: `http`, `ws`, `nats`, `memory`. */
  readonly name: string;
  /** URL schemes without the colon, e.g. `['http', 'https']`. */
  readonly schemes: readonly string[];
  connect(url: string, options: ConnectOptions): ClientConnection;
  /**
   * Optional: expands one configured endpoint URL into the instances behind it (a NATS queue
   * group's members, each on a subject of its own), so that the client keeps health, breakers
   * and balancing per instance. The transport keeps calling `options.update` as instances join
   * and leave; the returned function stops discovery. Transports without it are used as given.
   */
  discover?(url: string, options: DiscoverOptions): () => void;
  /**
   * Optional: the server side of the same transport. Returns a listener for a listen URL of one
   * of `schemes` (`http://0.0.0.0:3000/rpc`, `ws://0.0.0.0:3001/rpc`,
   * `nats://127.0.0.1:4222/<subject>`), so that a server picks its transports from configuration
   * alone: `createServer({ transports: [httpTransport()] }).listen('http://0.0.0.0:3000/rpc')`.
   */
  listen?(url: string): ServerListener;
  /** Releases shared resources (agents, broker connections). */
  close?(): Promise<void>;
}

/** Credentials a server transport extracts from a request, for the `authenticate` hook. */
export interface IncomingCredentials {
  /** Lower-case header names to values (HTTP headers, WS handshake headers, NATS headers). */
  readonly headers: Readonly<Record<string, string>>;
  /** The transport-level identity, when the transport has one (a TLS client certificate subject, a NATS user). */
  readonly user?: string;
}

/** What a server transport knows about an incoming message. */
export interface IncomingContext {
  /** The transport's name (`http`, `ws`, `nats`, `memory`). */
  readonly transport: string;
  /** Metadata read from native headers or the `meta` member (untrusted: the dispatcher sanitises it). */
  readonly metadata: WireMetadata;
  readonly remoteAddress?: string;
  readonly credentials?: IncomingCredentials;
  /** Fires when the connection the request came on is gone; handlers see it through their signal. */
  readonly signal?: AbortSignal;
}

/** Server limits the dispatcher enforces and transports read (defaults in `ServerDefaults`). */
export interface DispatcherLimits {
  /** Largest message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Most requests accepted in one batch. */
  readonly maxBatchSize: number;
}

/**
 * What an answer means to the transport that carries it, so that a listener maps it to its own
 * protocol (HTTP status, WebSocket close code, NATS header) without reading the body:
 *
 * | status | when | HTTP |
 * | --- | --- | --- |
 * | `ok` | a response, JSON-RPC errors of methods included (-32601, -32602, -32603, -32001, -32008, application codes); every batch that was read | 200 |
 * | `no-content` | nothing to send: a notification, or a batch of notifications | 204 |
 * | `bad-request` | the message is not JSON (-32700), not a request, or an empty batch (-32600) | 400 |
 * | `unauthenticated` | the `authenticate` hook refused the credentials (-32004) | 401 |
 * | `forbidden` | the caller may not call the method (-32005) | 403 |
 * | `too-large` | more bytes than `maxMessageBytes` (-32006) or more entries than `maxBatchSize` (-32007) | 413 |
 * | `overloaded` | the server (or the dispatch's {@link DispatchOptions.limit}) is at its in-flight limit (-32002): not processed | 503 |
 * | `draining` | the server is shutting down (-32003): not processed | 503 |
 */
export type DispatchStatus =
  | 'ok'
  | 'no-content'
  | 'bad-request'
  | 'unauthenticated'
  | 'forbidden'
  | 'too-large'
  | 'overloaded'
  | 'draining';

/** The answer to one incoming message: the text to send back and what it means. */
export interface DispatchResult {
  /** The JSON text to send back (UTF-8 on the wire); `undefined` when nothing is sent (`no-content`). */
  readonly body: string | undefined;
  readonly status: DispatchStatus;
}

/** Options of one {@link Dispatcher.dispatch}. */
export interface DispatchOptions {
  /**
   * Also count this message's requests against a limit of the connection or listener it came on
   * (`new InFlightLimit(1_000)` per WebSocket connection); requests past it are answered -32002
   * (not processed). Default: only the server's `maxInFlight`.
   */
  readonly limit?: InFlightLimit;
  /**
   * Answer an error about a whole batch (too many entries) once per entry, by id, instead of once
   * with id null: a transport that multiplexes many requests on one connection (WebSocket) cannot
   * match an id-null error to its requests. Default false (one error, as JSON-RPC 2.0 specifies).
   */
  readonly answerEachEntry?: boolean;
}

/**
 * The core server as a transport sees it. Transports hand every incoming message to
 * {@link Dispatcher.dispatch}, which owns parsing, size and batch limits, overload, the handlers
 * and serialisation; the listener only moves bytes and maps the {@link DispatchStatus}.
 * Nothing here rejects: every bad input becomes a JSON-RPC error response.
 */
export interface Dispatcher {
  /**
   * Handles one incoming message, as text or as UTF-8 bytes (invalid UTF-8 is a -32700 Parse
   * error), and resolves with the body to send back and its status. Never rejects.
   */
  dispatch(
    message: string | Uint8Array,
    context: IncomingContext,
    options?: DispatchOptions,
  ): Promise<DispatchResult>;
  /**
   * `dispatch`, except that an answer ready at once (every handler the message ran returned
   * synchronously) is returned as it is, not in a promise: a transport may write it back in the
   * same tick. Optional (a dispatcher without it is used through `dispatch`).
   */
  dispatchNow?(
    message: string | Uint8Array,
    context: IncomingContext,
    options?: DispatchOptions,
  ): DispatchResult | Promise<DispatchResult>;
  /**
   * `dispatch` for text, resolving only the body: `undefined` when there is nothing to send back
   * (a notification, or a batch of notifications).
   */
  handleText(text: string, context: IncomingContext): Promise<string | undefined>;
  /** Same as `handleText` for an already-parsed message. */
  handleMessage(
    message: unknown,
    context: IncomingContext,
  ): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined>;
  /** False once the server drains: transports answer new requests with their native "rejected" (HTTP 503). */
  readonly accepting: boolean;
  readonly limits: DispatcherLimits;
  /** Requests being handled right now. */
  readonly inFlight: number;
}

/** A server-side transport endpoint (an HTTP port, a WS server, a NATS subscription). */
export interface ServerListener {
  readonly transport: string;
  /** Starts listening and hands every request to `dispatcher`. */
  start(dispatcher: Dispatcher): Promise<void>;
  /** Client URLs that reach this listener (known after `start`), e.g. `http://127.0.0.1:40211/rpc`. */
  readonly urls: readonly string[];
  /**
   * Stops taking new requests; in-flight ones go on. A subscription drains; a port stays open
   * until {@link close}, refusing what arrives as not processed (HTTP 503): closing a listening
   * socket resets the connections still queued in the kernel, which a client cannot tell from a
   * lost request.
   */
  stopAccepting(): Promise<void>;
  /**
   * Closes everything; the server calls it once in-flight requests finished or the drain timed
   * out. `forced`: the server closed without waiting (`server.close()`, drain timeout 0) and
   * aborted handlers that were running, whose answers are not worth waiting for (cut connections
   * at once); false: a graceful close (let answers still being written go out). A listener may
   * ignore it; called without it (by hand), a listener decides for itself.
   */
  close(options?: { readonly forced?: boolean }): Promise<void>;
}

/** Returns the scheme of an endpoint URL without the colon, lower case (`http`, `ws`, `nats`). */
export function schemeOf(url: string): string {
  const index = url.indexOf(':');
  return index <= 0 ? '' : url.slice(0, index).toLowerCase();
}
