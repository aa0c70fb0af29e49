import { request as httpsRequest } from 'node:https';
import { createClient, createServer, type RpcServer, refuse } from '@resilient-rpc/core';
import { selfSigned } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpListener, httpTransport } from '../src/index.js';

describe('https and authentication', () => {
  let server: RpcServer;
  let url: string;
  let cert: string;
  let executed = 0;

  beforeAll(async () => {
    const pair = selfSigned();
    pair.remove();
    cert = pair.cert;
    server = createServer({
      methods: {
        whoami: (_params: unknown, context) => {
          executed++;
          return context.auth;
        },
      },
      authenticate: (credentials) => {
        const token = credentials?.headers.authorization;
        if (token === undefined) return refuse('unauthenticated', 'missing bearer token');
        if (token === 'Bearer reader') return refuse('forbidden');
        return token === 'Bearer admin' ? { user: 'admin' } : refuse('unauthenticated', 'bad token');
      },
    });
    url = (await server.listen(httpListener({ port: 0, tls: { key: pair.key, cert: pair.cert } }))).urls[0]!;
  });
  afterAll(async () => server.close());

  it('serves https and the client trusts the certificate given in tls options', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/rpc$/);
    const client = createClient({
      transports: [httpTransport({ tls: { ca: cert } })],
      endpoints: [{ url, headers: { authorization: 'Bearer admin' } }],
      retry: false,
    });
    try {
      await expect(client.call('whoami')).resolves.toEqual({ user: 'admin' });
    } finally {
      await client.close();
    }
  });

  it('refuses an untrusted certificate as not-sent', async () => {
    const client = createClient({
      transports: [httpTransport()],
      endpoints: [url],
      retry: false,
      heartbeat: false,
    });
    try {
      await expect(client.call('whoami')).rejects.toMatchObject({ kind: 'not-sent' });
    } finally {
      await client.close();
    }
  });

  it('an unauthenticated or forbidden call is refused (401/403 as JSON-RPC errors) and never executed', async () => {
    const before = executed;
    const anonymous = createClient({
      transports: [httpTransport({ tls: { ca: cert } })],
      endpoints: [url],
      retry: false,
    });
    const reader = createClient({
      transports: [httpTransport({ tls: { ca: cert }, headers: { authorization: 'Bearer reader' } })],
      endpoints: [url],
      retry: false,
    });
    try {
      await expect(anonymous.call('whoami')).rejects.toMatchObject({ kind: 'remote', code: -32004 });
      await expect(reader.call('whoami')).rejects.toMatchObject({ kind: 'remote', code: -32005 });
      const status = await new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'whoami' });
        const req = httpsRequest(
          url,
          { method: 'POST', ca: cert, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(status).toBe(401);
      expect(executed).toBe(before);
    } finally {
      await anonymous.close();
      await reader.close();
    }
  });
});
