import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createClient, RpcError } from '@resilient-rpc/core';
import { tsNodeArgs } from '@resilient-rpc/testkit';
import { httpTransport } from '@resilient-rpc/transport-http';
import { describe, expect, it } from 'vitest';
import { cliPath } from './helpers.js';

describe('pnpm demo serve', () => {
  it('serves the example methods standalone, add positional or named, and can be made faulty', async () => {
    const child = spawn(
      process.execPath,
      [...tsNodeArgs(), cliPath, 'serve', '--transport', 'http', '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('serve did not start')), 20_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /serving the example service on (\S+)/.exec(line);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/rpc$/);
      const client = createClient({ transports: [httpTransport()], endpoints: [url], retry: false });
      try {
        expect(await client.call('echo', ['hi'])).toBe('hi');
        expect(await client.call('add', [2, 3])).toBe(5);
        expect(await client.call('add', { a: 2, b: 40 })).toBe(42);
        expect(await client.call('sleep', { ms: 5 })).toBe(5);
        expect(await client.call('charge', { id: 'x1', amount: 3 })).toEqual({
          id: 'x1',
          charged: 3,
          executions: 1,
        });
        await client.call('demo.fault', { failRate: 1, delayMs: 0 });
        const error = await client.call('echo', ['hi']).catch((e: unknown) => e);
        expect(RpcError.isInstance(error) && error.kind === 'remote' && error.retryable).toBe(true);
        await client.call('demo.fault', [0, 0]);
        expect(await client.call('echo', ['ok'])).toBe('ok');
        const bad = await client.call('add', { a: 1 }).catch((e: unknown) => e);
        expect(RpcError.isInstance(bad) && bad.code).toBe(-32602);
      } finally {
        await client.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
