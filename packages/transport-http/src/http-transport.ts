import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import type { ClientConnection, ClientTransport, ConnectOptions } from '@resilient-rpc/core';
import { checkPositive, type OptionsOf, positiveNumber, withDefaults } from '@resilient-rpc/core/transport';
import axios, { type AxiosInstance } from 'axios';
import { HttpClientDefaults } from './defaults.js';
import { HttpConnection } from './http-connection.js';
import { type HttpListener, type HttpTransportServerOptions, listenHttpUrl } from './http-listener.js';
import { closeWhenIdle } from './idle-agent.js';
import { leanAdapter, pipelineSkipper } from './lean-adapter.js';

/** Extra headers for every request, or per endpoint URL. */
export type HeadersOption =
  | Readonly<Record<string, string>>
  | ((url: string) => Readonly<Record<string, string>> | undefined);

/** Options of {@link httpTransport}; those of {@link HttpClientDefaults} are documented there. */
export interface HttpTransportOptions
  extends HttpTransportServerOptions,
    Omit<OptionsOf<typeof HttpClientDefaults>, 'keepAliveMsecs'> {
  /**
   * Your own axios instance (with its interceptors, agents, proxy…). Each request still sets
   * `maxRedirects: 0`, `responseType: 'text'`, identity transforms and `validateStatus` for all
   * statuses, because the transport needs them. Default: an instance with keep-alive agents.
   */
  readonly axios?: AxiosInstance;
  /** Headers sent with every request (e.g. `{ authorization: 'Bearer …' }`), or a function of the endpoint URL. */
  readonly headers?: HeadersOption;
  /** TLS options for https endpoints (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`…). */
  readonly tls?: HttpsAgentOptions;
  /** Your own agents (ignored when `axios` is given: configure them on your instance). */
  readonly httpAgent?: HttpAgent;
  readonly httpsAgent?: HttpsAgent;
}

/** A {@link ClientTransport} with the axios instance it uses. */
export interface HttpTransport extends ClientTransport {
  readonly axios: AxiosInstance;
  /** The server side: a listener for `http://host:port/path` (or `https://`, with `server.tls`). */
  listen(url: string): HttpListener;
}

/** The HTTP client transport: JSON-RPC 2.0 `POST`s with axios over keep-alive agents. */
export function httpTransport(options: HttpTransportOptions = {}): HttpTransport {
  const o = withDefaults(HttpClientDefaults, options);
  checkPositive('httpTransport', o, ['maxSockets', 'maxFreeSockets'], { whole: true });
  // (0 turns the idle timer off; `Infinity` would fire it at once)
  positiveNumber('httpTransport: idleSocketTimeoutMs', o.idleSocketTimeoutMs, { zero: true, finite: true });
  const ownAgents: Array<HttpAgent | HttpsAgent> = [];
  let instance = options.axios;
  let lean: { skip: () => boolean; http: HttpAgent; https: HttpsAgent } | undefined;
  if (instance === undefined) {
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: HttpClientDefaults.keepAliveMsecs,
      maxSockets: o.maxSockets,
      maxFreeSockets: o.maxFreeSockets,
      scheduling: 'lifo' as const,
    };
    const own = <A extends HttpAgent | HttpsAgent>(agent: A) => {
      ownAgents.push(agent);
      return closeWhenIdle(agent, o.idleSocketTimeoutMs);
    };
    const httpAgent = options.httpAgent ?? own(new HttpAgent(agentOptions));
    const httpsAgent = options.httpsAgent ?? own(new HttpsAgent({ ...agentOptions, ...options.tls }));
    instance = axios.create({ httpAgent, httpsAgent, maxRedirects: 0, proxy: false, adapter: leanAdapter });
    lean = { skip: pipelineSkipper(instance), http: httpAgent, https: httpsAgent };
  }
  const client = instance;
  const { healthPath } = o;
  const maxResponseBytes = positiveNumber('maxResponseBytes', o.maxResponseBytes);
  const headersOption = options.headers;
  const connections = new Set<HttpConnection>();
  return {
    name: 'http',
    schemes: ['http', 'https'],
    axios: client,
    listen: (url) => listenHttpUrl(url, options.server),
    connect(url: string, connectOptions: ConnectOptions): ClientConnection {
      const fromTransport = typeof headersOption === 'function' ? headersOption(url) : headersOption;
      const connection = new HttpConnection(url, client, {
        clock: connectOptions.clock,
        healthPath,
        maxResponseBytes,
        headers: { ...fromTransport, ...connectOptions.headers },
        onClose: () => connections.delete(connection),
        ...(lean !== undefined && { lean }),
      });
      connections.add(connection);
      return connection;
    },
    async close() {
      await Promise.all([...connections].map((connection) => connection.close()));
      for (const agent of ownAgents) agent.destroy();
    },
  };
}
