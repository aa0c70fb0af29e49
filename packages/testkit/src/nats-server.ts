import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, sleep } from './net.js';

const BINARY = 'nats-server';

/**
 * Returns the path of the `nats-server` binary, or throws a clear error naming the Debian package
 * when it is not on `PATH`. NATS tests call this instead of skipping: a missing broker fails the run.
 */
export function requireNatsServer(pathVariable: string | undefined = process.env.PATH): string {
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, BINARY);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${BINARY} was not found on PATH. The NATS tests need a real broker: install the Debian package ` +
      `"nats-server" (apt-get install nats-server) or put the ${BINARY} binary on PATH. ` +
      'These tests are never skipped.',
  );
}

/** Cluster membership of one `nats-server` process. */
export interface NatsClusterOptions {
  /** The cluster's name (all nodes must agree). */
  name: string;
  /** This node's route (cluster) port on 127.0.0.1. */
  port: number;
  /** Route URLs of the other nodes, e.g. `nats://127.0.0.1:6222`. */
  routes: string[];
}

export interface NatsServerOptions {
  /** Client port; default: one the server picks (`-p -1`), read back from its ports file. */
  port?: number;
  cluster?: NatsClusterOptions;
  /** Extra command-line arguments (auth, TLS, ...). */
  args?: string[];
  /** Echo the server's log to our stderr. Default false. */
  verbose?: boolean;
  /** How long to wait for the server to listen, ms. Default 10 000. */
  readyTimeoutMs?: number;
}

/** A running `nats-server` child process. */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The route URL when clustered, `nats://127.0.0.1:<cluster port>`. */
  readonly routeUrl: string | undefined;
  readonly alive: boolean;
  /** Sends `signal` (default SIGKILL) and resolves when the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the broker hangs with its sockets open. */
  stop(): void;
  /** SIGCONT. */
  resume(): void;
  /** Kills the process (if alive) and starts a new one on the same ports. */
  restart(): Promise<void>;
}

interface Started {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
}

async function launch(
  binary: string,
  options: NatsServerOptions,
  port: number | undefined,
): Promise<Started> {
  const portsDir = mkdtempSync(join(tmpdir(), 'rrpc-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port ?? -1), '--ports_file_dir', portsDir];
  if (options.cluster) {
    args.push(
      '--cluster_name',
      options.cluster.name,
      '--cluster',
      `nats://127.0.0.1:${options.cluster.port}`,
    );
    if (options.cluster.routes.length > 0) args.push('--routes', options.cluster.routes.join(','));
  }
  args.push(...(options.args ?? []));
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', options.verbose ? 'inherit' : 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (log.length < 20_000) log += chunk.toString();
  });
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      gone = true;
      resolve();
    });
    child.once('error', () => {
      gone = true;
      resolve();
    });
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  try {
    for (;;) {
      if (gone) throw new Error(`nats-server exited before it listened (args: ${args.join(' ')}):\n${log}`);
      const file = readdirSync(portsDir).find((name) => name.endsWith('.ports'));
      if (file !== undefined) {
        const text = readFileSync(join(portsDir, file), 'utf8');
        const chosen = parsePort(text);
        if (chosen !== undefined) return { child, port: chosen, exited };
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server did not listen within ${options.readyTimeoutMs ?? 10_000} ms:\n${log}`);
      }
      await sleep(20);
    }
  } finally {
    rmSync(portsDir, { recursive: true, force: true });
  }
}

function parsePort(text: string): number | undefined {
  try {
    const parsed = JSON.parse(text) as { nats?: string[] };
    const url = parsed.nats?.[0];
    if (url === undefined) return undefined;
    const port = Number(new URL(url).port);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined; // partially written
  }
}

/** Starts `nats-server` on 127.0.0.1 (a free port unless `port` is given). Kill it when done. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = requireNatsServer();
  let current = await launch(binary, options, options.port);
  const port = current.port;
  let alive = true;
  const track = (started: Started) => {
    void started.exited.then(() => {
      if (current === started) alive = false;
    });
  };
  track(current);
  const handle: NatsServerHandle = {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return current.child.pid ?? -1;
    },
    routeUrl: options.cluster ? `nats://127.0.0.1:${options.cluster.port}` : undefined,
    get alive() {
      return alive;
    },
    async kill(signal = 'SIGKILL') {
      if (alive) {
        if (signal !== 'SIGCONT') current.child.kill('SIGCONT');
        current.child.kill(signal);
      }
      await current.exited;
    },
    stop() {
      if (alive) current.child.kill('SIGSTOP');
    },
    resume() {
      if (alive) current.child.kill('SIGCONT');
    },
    async restart() {
      await handle.kill('SIGKILL');
      // The port may linger briefly; retry a few times.
      let lastError: unknown;
      for (let i = 0; i < 20; i++) {
        try {
          current = await launch(binary, options, port);
          alive = true;
          track(current);
          return;
        } catch (error) {
          lastError = error;
          await sleep(100);
        }
      }
      throw lastError;
    },
  };
  return handle;
}

/** A cluster of `nats-server` processes routed to each other on loopback. */
export interface NatsClusterHandle {
  readonly servers: readonly NatsServerHandle[];
  /** Client URLs of every node. */
  readonly urls: readonly string[];
  /** Kills every node. */
  kill(): Promise<void>;
}

/** Starts `size` (default 3) clustered nodes with full-mesh routes on free loopback ports. */
export async function startNatsCluster(
  size = 3,
  options: { args?: string[]; name?: string } = {},
): Promise<NatsClusterHandle> {
  requireNatsServer();
  const name = options.name ?? `rrpc-${process.pid}-${Date.now().toString(36)}`;
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const routeUrls = routePorts.map((port) => `nats://127.0.0.1:${port}`);
  const servers: NatsServerHandle[] = [];
  try {
    for (let i = 0; i < size; i++) {
      servers.push(
        await startNatsServer({
          cluster: { name, port: routePorts[i] ?? 0, routes: routeUrls.filter((_, j) => j !== i) },
          ...(options.args && { args: options.args }),
        }),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.kill()));
    throw error;
  }
  return {
    servers,
    urls: servers.map((server) => server.url),
    async kill() {
      await Promise.all(servers.map((server) => server.kill()));
    },
  };
}
