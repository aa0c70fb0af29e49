import { request as httpRequest } from 'node:http';
import { ErrorCodes } from '@resilient-rpc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, notification, request, type Started, sendOptions, startServer } from './helpers.js';

describe('HTTP client ↔ listener round trips', () => {
  let started: Started;
  let client: ReturnType<typeof connect>;

  beforeAll(async () => {
    started = await startServer();
    client = connect(started.url, { headers: { 'x-from-transport': 't' } }, { 'x-from-endpoint': 'e' });
  });
  afterAll(async () => {
    await client.transport.close?.();
    await started.server.close();
  });

  it('reports the capabilities and an open status', () => {
    expect(client.connection.capabilities).toEqual({ batch: true, ping: true, persistentConnection: false });
    expect(client.connection.status).toBe('open');
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/rpc$/);
  });

  it('echoes a request', async () => {
    const req = request('echo', { hello: 'world' });
    const response = await client.connection.send(req, sendOptions());
    expect(response).toEqual({ jsonrpc: '2.0', id: req.id, result: { hello: 'world' } });
  });

  it('resolves undefined for a notification', async () => {
    const response = await client.connection.send(notification('echo', [1]), sendOptions());
    expect(response).toBeUndefined();
  });

  it('returns a JSON-RPC error as a resolved response', async () => {
    const req = request('nope');
    const response = await client.connection.send(req, sendOptions());
    expect(response).toMatchObject({ id: req.id, error: { code: ErrorCodes.MethodNotFound } });
    const failed = await client.connection.send(request('fail'), sendOptions());
    expect(failed).toMatchObject({ error: { code: ErrorCodes.InternalError, message: 'Internal error' } });
    expect(JSON.stringify(failed)).not.toContain('boom');
  });

  it('carries metadata in headers and passes the remote address', async () => {
    const response = await client.connection.send(
      request('meta'),
      sendOptions(5_000, { metadata: { deadlineMs: 4_000, idempotent: true, attempt: 2, traceId: 't-1' } }),
    );
    expect(response).toMatchObject({
      result: {
        metadata: { deadlineMs: 4_000, idempotent: true, attempt: 2, traceId: 't-1' },
        remoteAddress: '127.0.0.1',
      },
    });
  });

  it('sends transport, endpoint and per-call headers as credentials', async () => {
    const response = (await client.connection.send(
      request('whoami'),
      sendOptions(5_000, { headers: { authorization: 'Bearer abc' } }),
    )) as { result: { headers: Record<string, string> } };
    expect(response.result.headers).toMatchObject({
      authorization: 'Bearer abc',
      'x-from-transport': 't',
      'x-from-endpoint': 'e',
      'content-type': 'application/json',
    });
  });

  /** POSTs `method` with exactly these headers (a flat list, names as written; Host and Content-Length added) and reads the result. */
  const postWithHeaders = async (method: string, list: string[]): Promise<Record<string, unknown>> => {
    const body = JSON.stringify(request(method));
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        started.url,
        {
          method: 'POST',
          // A flat list (with Host: node:http adds none to a list): the repeated names reach the server as they are.
          headers: [
            'host',
            new URL(started.url).host,
            ...list,
            'content-length',
            String(Buffer.byteLength(body)),
          ],
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    return (JSON.parse(answer) as { result: Record<string, unknown> }).result;
  };

  it('hands repeated request headers to credentials as one string each, Set-Cookie included', async () => {
    const { headers } = (await postWithHeaders('whoami', [
      'content-type',
      'application/json',
      'x-twice',
      'a',
      'x-twice',
      'b',
      'set-cookie',
      'c=1',
      'set-cookie',
      'd=2',
    ])) as { headers: Record<string, unknown> };
    expect(headers).toMatchObject({ 'x-twice': 'a, b', 'set-cookie': 'c=1, d=2' });
    for (const value of Object.values(headers)) expect(typeof value).toBe('string');
  });

  it('reads header names in any case, keeping node:http’s first of a repeated Authorization', async () => {
    const list = ['Content-Type', 'application/json', 'Authorization', 'Bearer one', 'X-Mixed-Case', 'v'];
    const { headers } = (await postWithHeaders('whoami', [...list, 'authorization', 'Bearer two'])) as {
      headers: Record<string, unknown>;
    };
    expect(headers).toMatchObject({ authorization: 'Bearer one', 'x-mixed-case': 'v' });
    expect(headers).not.toHaveProperty('Authorization');
    const single = (await postWithHeaders('whoami', list)) as { headers: Record<string, unknown> };
    expect(single.headers).toMatchObject({ authorization: 'Bearer one', 'x-mixed-case': 'v' });
    expect(single.headers).not.toHaveProperty('X-Mixed-Case');
    const meta = [
      'RPC-Deadline-Ms',
      '4000',
      'Rpc-Idempotent',
      '1',
      'RPC-ATTEMPT',
      '3',
      'Rpc-Trace-Id',
      't-2',
    ];
    const { metadata } = await postWithHeaders('meta', ['Content-Type', 'application/json', ...meta]);
    expect(metadata).toEqual({ deadlineMs: 4_000, idempotent: true, attempt: 3, traceId: 't-2' });
  });

  it('sends a batch and gets every answer', async () => {
    const batch = [request('echo', [1]), request('echo', [2]), notification('echo', [3]), request('nope')];
    const responses = await client.connection.sendBatch!(batch, sendOptions());
    expect(responses).toHaveLength(3);
    const byId = new Map(responses.map((r) => [r.id, r]));
    expect(byId.get(batch[0]!.id!)).toMatchObject({ result: [1] });
    expect(byId.get(batch[1]!.id!)).toMatchObject({ result: [2] });
    expect(byId.get(batch[3]!.id!)).toMatchObject({ error: { code: ErrorCodes.MethodNotFound } });
    expect(await client.connection.sendBatch!([notification('echo', [1])], sendOptions())).toEqual([]);
  });

  it('pings the health endpoint', async () => {
    await expect(
      client.connection.ping!({ signal: new AbortController().signal, timeoutMs: 2_000 }),
    ).resolves.toBeUndefined();
  });

  it('handles many concurrent calls over keep-alive', async () => {
    const calls = Array.from({ length: 200 }, (_, i) =>
      client.connection.send(request('echo', [i]), sendOptions()),
    );
    const responses = await Promise.all(calls);
    responses.forEach((response, i) => {
      expect(response).toMatchObject({ result: [i] });
    });
  });

  it('aborts the handler when the client goes away', async () => {
    let aborted = false;
    started.server.addMethod('hang', (_params, context) => {
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => {
          aborted = true;
          reject(context.signal.reason);
        });
      });
    });
    const controller = new AbortController();
    const pending = client.connection.send(
      request('hang'),
      sendOptions(5_000, { signal: controller.signal }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(started.server.inFlight).toBe(1);
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toBeDefined();
    const until = Date.now() + 5_000;
    while (!aborted && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(aborted).toBe(true);
  });

  it('rejects sends after close with not-sent', async () => {
    const other = connect(started.url);
    await other.connection.close();
    expect(other.connection.status).toBe('closed');
    await expect(other.connection.send(request('echo', []), sendOptions())).rejects.toMatchObject({
      kind: 'not-sent',
    });
    await other.transport.close?.();
  });
});
