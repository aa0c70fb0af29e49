import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createClient, RpcError } from '@resilient-rpc/core';
import { tsNodeArgs } from '@resilient-rpc/testkit';
import { httpTransport } from '@resilient-rpc/transport-http';
import { wsTransport } from '@resilient-rpc/transport-ws';
import { describe, expect, it } from 'vitest';
import { cliPath, runCli } from './helpers.js';

describe('pnpm demo serve', () => {
  it('serves the example methods standalone, add positional or named, and can be made faulty', async () => {
    const child = spawn(
      process.execPath,
      [...tsNodeArgs(), cliPath, 'serve', '--listen', 'http://127.0.0.1:0/rpc'],
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

  it('serves on several listen URLs at once, the scheme picking the transport', async () => {
    const child = spawn(
      process.execPath,
      [
        ...tsNodeArgs(),
        cliPath,
        'serve',
        '--listen',
        'ws://127.0.0.1:0/rpc',
        '--listen',
        'http://127.0.0.1:0/rpc',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const urls = await new Promise<string[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('serve did not start')), 20_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /serving the example service on (.+) \(pid/.exec(line);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!.split(' '));
          }
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      expect(urls).toHaveLength(2);
      expect(urls[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/rpc$/);
      expect(urls[1]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/rpc$/);
      for (const url of urls) {
        const client = createClient({
          transports: [httpTransport(), wsTransport()],
          endpoints: [url],
          retry: false,
        });
        try {
          expect(await client.call('add', [20, 22])).toBe(42);
        } finally {
          await client.close();
        }
      }
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses a listen URL no transport takes, with the usage and exit code 2', async () => {
    const result = await runCli(['serve', '--listen', 'ftp://127.0.0.1:0/rpc'], 30_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no transport listens on "ftp:\/\/127\.0\.0\.1:0\/rpc"/);
    expect(result.stderr).toMatch(/--listen URL/);
  }, 60_000);
});
