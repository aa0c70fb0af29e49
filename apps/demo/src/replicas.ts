/**
 * The orchestrator's side of the replicas: child processes on 127.0.0.1 that can be killed
 * (SIGKILL) and restarted on the same port, hung (SIGSTOP) and resumed (SIGCONT), and switched
 * to faulty or slow over IPC. Every execution of a non-idempotent call is logged by the replica
 * on stdout as it happens and kept here, so a killed replica's executions are not lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FromReplica, ToReplica } from './replica.js';

/** The replica entry next to this module: replica.js in dist/, replica.ts when run from sources. */
export function replicaEntry(): string {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  const path = fileURLToPath(new URL(`./replica${ext}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`replica entry not found: ${path}`);
  return path;
}

/** The demo's `--transport`: the scheme of the replicas' listen URLs (and so of the client's endpoints). */
export type TransportName = 'http' | 'ws' | 'nats';
export const TRANSPORTS: readonly TransportName[] = ['http', 'ws', 'nats'];

export function isTransportName(value: string): value is TransportName {
  return (TRANSPORTS as readonly string[]).includes(value);
}

/**
 * Where replica `index` listens: a free port on 127.0.0.1 for http and ws (kept across restarts),
 * a subject of its own on the broker `natsUrl` for nats (one endpoint per instance, so the client
 * keeps health per replica). The replica itself only sees the URL.
 */
export function replicaListenUrl(transport: TransportName, index: number, natsUrl?: string): string {
  if (transport !== 'nats') return `${transport}://127.0.0.1:0/rpc`;
  if (natsUrl === undefined) throw new Error('a NATS broker URL is required for the nats transport');
  return `${natsUrl.replace(/\/+$/, '')}/demo.replica${index}`;
}

/** Node flags passed on to replicas (loaders, conditions), without debugger flags. */
function childExecArgv(): string[] {
  return process.execArgv.filter((arg) => !arg.startsWith('--inspect') && !arg.startsWith('--debug'));
}

export interface ReplicaOptions {
  index: number;
  /** The URL the replica listens on (`replicaListenUrl`); port 0 is fixed to the real port after the first start. */
  listenUrl: string;
  /** Shared log of executions of non-idempotent calls, by id, over every replica and incarnation. */
  executions: Map<string, { count: number; replicas: string[] }>;
  readyTimeoutMs?: number;
}

interface Incarnation {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | string>;
  /** Resolves when its stdout is fully read (every EXEC line seen). */
  drained: Promise<void>;
  alive: boolean;
  executions: number;
  stderr: string;
}

export type ReplicaStatus = 'starting' | 'running' | 'killed' | 'stopped';

export class ReplicaProcess {
  readonly index: number;
  readonly name: string;
  /** Client URL, known once started. */
  url = '';
  /** The listen URL; a restart listens on the same one (the same port, the same subject). */
  private listenUrl: string;
  status: ReplicaStatus = 'starting';
  /** Every incarnation, the current last. */
  readonly incarnations: Incarnation[] = [];
  private nextRequest = 0;
  private readonly pending = new Map<number, (reply: FromReplica) => void>();

  constructor(private readonly options: ReplicaOptions) {
    this.index = options.index;
    this.name = `r${options.index}`;
    this.listenUrl = options.listenUrl;
  }

  get current(): Incarnation | undefined {
    return this.incarnations[this.incarnations.length - 1];
  }

  get alive(): boolean {
    return this.current?.alive === true;
  }

  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** Starts (or restarts, on the same port or subject) the process and waits until it serves. */
  async start(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.spawnOnce();
        this.status = 'running';
        return;
      } catch (error) {
        lastError = error;
        // The port may still be held for a moment after a kill.
        await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
      }
    }
    throw lastError;
  }

  private spawnOnce(): Promise<void> {
    const args = [...childExecArgv(), replicaEntry(), '--listen', this.listenUrl];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const incarnation: Incarnation = {
      child,
      pid: child.pid ?? -1,
      exited: new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          incarnation.alive = false;
          resolve(code ?? signal ?? 'unknown');
        });
      }),
      drained: new Promise((resolve) => child.stdout!.once('close', () => resolve())),
      alive: true,
      executions: 0,
      stderr: '',
    };
    child.once('error', () => {});
    child.stderr!.on('data', (chunk: Buffer) => {
      incarnation.stderr = (incarnation.stderr + chunk.toString()).slice(-4_000);
    });
    child.on('message', (message: FromReplica) => {
      if (message?.type === 'counters') {
        const resolve = this.pending.get(message.requestId);
        this.pending.delete(message.requestId);
        resolve?.(message);
      }
    });
    this.incarnations.push(incarnation);
    const timeoutMs = this.options.readyTimeoutMs ?? 20_000;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`replica ${this.name} did not start within ${timeoutMs} ms\n${incarnation.stderr}`));
      }, timeoutMs);
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        if (line.startsWith('EXEC ')) {
          const id = line.slice(5);
          incarnation.executions++;
          const entry = this.options.executions.get(id);
          if (entry === undefined) this.options.executions.set(id, { count: 1, replicas: [this.name] });
          else {
            entry.count++;
            entry.replicas.push(this.name);
          }
        } else if (!ready && line.startsWith('READY ')) {
          ready = true;
          clearTimeout(timer);
          const info = JSON.parse(line.slice(6)) as { url: string };
          this.url = info.url;
          // A free port was picked: restarts take the same one.
          if (new URL(this.listenUrl).port === '0') this.listenUrl = info.url;
          resolve();
        }
      });
      void incarnation.exited.then((code) => {
        if (ready) return;
        clearTimeout(timer);
        reject(new Error(`replica ${this.name} exited (${code}) before it served\n${incarnation.stderr}`));
      });
    });
  }

  /** SIGKILL: the process dies at once, its sockets reset. Resolves once it is gone. */
  async kill(): Promise<void> {
    const current = this.current;
    if (current === undefined || !current.alive) return;
    this.status = 'killed';
    current.child.kill('SIGKILL');
    await current.exited;
  }

  /** SIGSTOP: the process hangs with its sockets open. */
  stop(): void {
    if (!this.alive) return;
    this.status = 'stopped';
    this.current!.child.kill('SIGSTOP');
  }

  /** SIGCONT. */
  resume(): void {
    if (!this.alive) return;
    this.status = 'running';
    this.current!.child.kill('SIGCONT');
  }

  setFault(fault: { failRate?: number; delayMs?: number }): void {
    if (!this.alive) return;
    const message: ToReplica = { type: 'fault', ...fault };
    this.current!.child.send(message, () => {});
  }

  /** Asks the live process for its counters; undefined if it does not answer in time. */
  counters(timeoutMs = 3_000): Promise<FromReplica | undefined> {
    const current = this.current;
    if (current === undefined || !current.alive || !current.child.connected)
      return Promise.resolve(undefined);
    const requestId = ++this.nextRequest;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(requestId, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      const message: ToReplica = { type: 'counters', requestId };
      current.child.send(message, (error) => {
        if (error) {
          clearTimeout(timer);
          this.pending.delete(requestId);
          resolve(undefined);
        }
      });
    });
  }

  /** Kills every incarnation still running and waits until their logs are read. */
  async close(): Promise<void> {
    for (const incarnation of this.incarnations) {
      if (!incarnation.alive) continue;
      incarnation.child.kill('SIGCONT');
      incarnation.child.kill('SIGKILL');
    }
    await Promise.all(this.incarnations.map((i) => Promise.all([i.exited, i.drained])));
  }
}

/** Kills every replica synchronously (for exit handlers). */
export function killAllNow(replicas: readonly ReplicaProcess[]): void {
  for (const replica of replicas)
    for (const incarnation of replica.incarnations) {
      if (!incarnation.alive) continue;
      try {
        incarnation.child.kill('SIGCONT');
        incarnation.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
}
