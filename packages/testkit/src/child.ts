import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** Node arguments that run a TypeScript file with workspace packages resolved to their sources. */
export function tsNodeArgs(): string[] {
  const loader = pathToFileURL(require.resolve('tsx')).href;
  return ['--conditions=@resilient-rpc/source', '--import', loader];
}

export interface ChildOptions {
  args?: string[];
  /** Node's own arguments before the script. Default {@link tsNodeArgs} (the packages' sources). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** How long to wait for the READY line, ms. Default 20 000. */
  readyTimeoutMs?: number;
  /** Echo the child's stderr to ours. Default true. */
  inheritStderr?: boolean;
}

/**
 * A Node child process running a TypeScript script. The script signals readiness by printing one
 * line `READY <json>` on stdout (see {@link signalReady}); `ready` resolves with that JSON.
 */
export interface ChildHandle<Info = unknown> {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly ready: Promise<Info>;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Every stdout line after READY. */
  readonly lines: string[];
  kill(signal?: NodeJS.Signals): Promise<number | string>;
  /** SIGSTOP: the process hangs with its sockets open. */
  stop(): void;
  /** SIGCONT. */
  resume(): void;
  readonly alive: boolean;
}

/** Starts `script` (a .ts file path) as a child process. */
export function spawnScript<Info = unknown>(script: string, options: ChildOptions = {}): ChildHandle<Info> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? tsNodeArgs()), script, ...(options.args ?? [])],
    {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', options.inheritStderr === false ? 'ignore' : 'inherit'],
    },
  );
  const lines: string[] = [];
  let alive = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const ready = new Promise<Info>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${script} did not print READY within ${options.readyTimeoutMs ?? 20_000} ms`));
    }, options.readyTimeoutMs ?? 20_000);
    timer.unref();
    const reader = createInterface({ input: child.stdout! });
    let isReady = false;
    reader.on('line', (line) => {
      if (!isReady && line.startsWith('READY ')) {
        isReady = true;
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)) as Info);
      } else {
        lines.push(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (!isReady) reject(new Error(`${script} exited (${code}) before READY`));
    });
  });
  ready.catch(() => {});
  return {
    process: child,
    pid: child.pid!,
    ready,
    exited,
    lines,
    async kill(signal = 'SIGKILL') {
      if (alive) {
        if (signal !== 'SIGCONT') child.kill('SIGCONT');
        child.kill(signal);
      }
      return exited;
    },
    stop() {
      if (alive) child.kill('SIGSTOP');
    },
    resume() {
      if (alive) child.kill('SIGCONT');
    },
    get alive() {
      return alive;
    },
  };
}

/** Called by a child script once it serves: prints `READY <json>` for {@link spawnScript}. */
export function signalReady(info: unknown): void {
  process.stdout.write(`READY ${JSON.stringify(info)}\n`);
}

/** Kills every handle (SIGKILL), ignoring ones already gone. */
export async function killAll(handles: Iterable<ChildHandle<unknown>>): Promise<void> {
  await Promise.all([...handles].map((handle) => handle.kill('SIGKILL')));
}
