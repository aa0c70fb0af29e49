import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./fixtures/await-down-endpoint.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

function run(style: string): Promise<{ code: number | null; stdout: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', script, style], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', () => {});
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, ms: Date.now() - started });
    });
  });
}

describe('a pending call keeps the process alive, as a pending socket does', () => {
  for (const style of ['tla', 'then']) {
    it(`a script awaiting a call to a down endpoint (${style === 'tla' ? 'top-level await' : 'then/catch'}) prints its error, then exits 0 once the client is closed`, async () => {
      const { code, stdout } = await run(style);
      expect(stdout).toMatch(/^error: not-sent: the call failed after 3 attempts: connection refused/m);
      // Exit 0, not 13 (top-level await never settled) and not killed: nothing holds the
      // process once the call settled and the client closed (the 2 s deadline is not waited for).
      expect(code).toBe(0);
    }, 30_000);
  }
});
