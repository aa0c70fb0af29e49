import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from './fixtures/run-script.js';

const script = fileURLToPath(new URL('./fixtures/await-down-endpoint.ts', import.meta.url));

describe('a pending call keeps the process alive, as a pending socket does', () => {
  for (const style of ['tla', 'then']) {
    it(`a script awaiting a call to a down endpoint (${style === 'tla' ? 'top-level await' : 'then/catch'}) prints its error, then exits 0 once the client is closed`, async () => {
      const { code, stdout } = await runScript(script, [style]);
      expect(stdout).toMatch(/^error: not-sent: the call failed after 3 attempts: connection refused/m);
      // Exit 0, not 13 (top-level await never settled) and not killed: nothing holds the
      // process once the call settled and the client closed (the 2 s deadline is not waited for).
      expect(code).toBe(0);
    }, 30_000);
  }
});
