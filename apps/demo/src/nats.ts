/** Starts a private `nats-server` (Debian package `nats-server`, on PATH) for `--transport nats`. */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface NatsServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

export function findNatsServer(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    'nats-server was not found on PATH. --transport nats starts its own broker: install it ' +
      '(Debian/Ubuntu: apt-get install nats-server) or pass --nats-url nats://host:4222.',
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startNatsServer(timeoutMs = 10_000): Promise<NatsServerProcess> {
  const binary = findNatsServer();
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4_000);
    });
    let exited = false;
    const gone = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        resolve();
      });
      child.once('error', (error) => {
        log += String(error);
        exited = true;
        resolve();
      });
    });
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) {
      if (await canConnect(port)) {
        return {
          url: `nats://127.0.0.1:${port}`,
          child,
          async close() {
            if (!exited) child.kill('SIGKILL');
            await gone;
          },
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!exited) child.kill('SIGKILL');
    await gone;
    lastError = log;
  }
  throw new Error(`nats-server did not start:\n${lastError}`);
}
