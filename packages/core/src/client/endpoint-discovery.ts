import type { ClientTransport, ConnectOptions } from '../transport.js';
import type { EndpointConfig } from './types.js';

/** What {@link EndpointDiscovery} needs from the client. */
export interface EndpointDiscoveryHooks {
  /** The transport serving `url`; throws a TypeError when there is none. */
  transportFor(url: string): ClientTransport;
  /** Options handed to `transport.discover` for a configured endpoint. */
  connectOptions(config: EndpointConfig): ConnectOptions;
  /** Starts using an instance endpoint. */
  add(config: EndpointConfig): void;
  /** Stops using an instance endpoint. */
  remove(url: string): void;
}

interface Configured {
  readonly config: EndpointConfig;
  /** Instances discovered behind the configured URL; empty: the configured URL itself is used. */
  instances: readonly string[];
  stop: (() => void) | undefined;
}

/**
 * Turns the configured endpoints (static, from a resolver, or added at runtime) into the live
 * instance endpoints: a configured URL whose transport can `discover` is replaced by the
 * instances behind it, as they join and leave; any other URL is used as given.
 */
export class EndpointDiscovery {
  private readonly configured = new Map<string, Configured>();
  /** The live instance URLs and the configured URL each came from. */
  private readonly live = new Map<string, string>();
  private closed = false;

  constructor(private readonly hooks: EndpointDiscoveryHooks) {}

  /** Adds one configured endpoint (no-op if it is already configured). */
  add(entry: string | EndpointConfig): void {
    const config: EndpointConfig = typeof entry === 'string' ? { url: entry } : entry;
    if (this.closed || this.configured.has(config.url)) return;
    const transport = this.hooks.transportFor(config.url);
    const item: Configured = { config, instances: [], stop: undefined };
    this.configured.set(config.url, item);
    this.reconcile();
    if (transport.discover !== undefined) {
      item.stop = transport.discover(config.url, {
        ...this.hooks.connectOptions(config),
        update: (urls) => {
          if (this.configured.get(config.url) !== item) return;
          item.instances = [...new Set(urls)];
          this.reconcile();
        },
      });
    }
  }

  /** Removes a configured endpoint (with its instances) or, failing that, one live instance. */
  remove(url: string): void {
    const item = this.configured.get(url);
    if (item !== undefined) {
      this.configured.delete(url);
      item.stop?.();
      this.reconcile();
    } else if (this.live.delete(url)) {
      this.hooks.remove(url);
    }
  }

  /** Makes the configured set exactly `entries` (a resolver's update). */
  replace(entries: ReadonlyArray<string | EndpointConfig>): void {
    const wanted = new Set(entries.map((entry) => (typeof entry === 'string' ? entry : entry.url)));
    for (const url of [...this.configured.keys()]) if (!wanted.has(url)) this.remove(url);
    for (const entry of entries) this.add(entry);
  }

  /** Stops every discovery. */
  close(): void {
    this.closed = true;
    for (const item of this.configured.values()) item.stop?.();
  }

  private reconcile(): void {
    const desired = new Map<string, { from: string; config: EndpointConfig }>();
    for (const [from, item] of this.configured) {
      const urls = item.instances.length > 0 ? item.instances : [from];
      for (const url of urls) {
        if (!desired.has(url)) desired.set(url, { from, config: { ...item.config, url } });
      }
    }
    for (const url of [...this.live.keys()]) {
      if (!desired.has(url)) {
        this.live.delete(url);
        this.hooks.remove(url);
      }
    }
    for (const [url, { from, config }] of desired) {
      if (!this.live.has(url)) {
        this.live.set(url, from);
        this.hooks.add(config);
      }
    }
  }
}
