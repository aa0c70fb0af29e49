import type { DispatchResult } from '@resilient-rpc/core';
import {
  abandonedReply,
  CLOSED_WHILE_HANDLING,
  HeaderIncoming,
  headerRecord,
  ReplyOutbox,
} from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';

const bytes = (text: string) => new TextEncoder().encode(text);

function harness() {
  const sent: Array<[string, string]> = [];
  const ended: Array<[string, string | undefined]> = [];
  let pending: (() => void) | undefined;
  const outbox = new ReplyOutbox<string>({
    send: (target, body) => {
      sent.push([target, body]);
      return target === 'broken' ? 'socket gone' : undefined;
    },
    ended: (target, failed) => ended.push([target, failed]),
    later: (flush) => {
      pending = flush;
    },
  });
  const runLater = () => {
    const flush = pending;
    pending = undefined;
    flush?.();
  };
  return { outbox, sent, ended, runLater };
}

function deferred() {
  let resolve!: (result: DispatchResult) => void;
  const promise = new Promise<DispatchResult>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('ReplyOutbox', () => {
  it('sends a lone reply at once; replies ready while others run wait for the turn to end', async () => {
    const { outbox, sent, ended, runLater } = harness();
    const a = deferred();
    const b = deferred();
    const c = deferred();
    outbox.track('a', 'a', 0, bytes('{}'), a.promise);
    outbox.track('b', 'b', 0, bytes('{}'), b.promise);
    outbox.track('c', 'c', 0, bytes('{}'), c.promise);
    a.resolve({ status: 'ok', body: '{"result":1}' });
    await tick();
    expect(sent).toEqual([]); // b and c still run: a waits for the deferred flush
    b.resolve({ status: 'ok', body: '{"error":{"code":-32601}}' });
    await tick();
    runLater();
    expect(sent.map(([target]) => target)).toEqual(['a', 'b']);
    expect(ended).toEqual([
      ['a', undefined],
      ['b', 'JSON-RPC error response'],
    ]);
    c.resolve({ status: 'ok', body: '{"result":3}' });
    await tick();
    expect(sent.map(([target]) => target)).toEqual(['a', 'b', 'c']); // the last one: at once
  });

  it('ends a request without reply address or body without sending; counts a failed send', async () => {
    const { outbox, sent, ended } = harness();
    outbox.track('n', undefined, 0, bytes('{}'), Promise.resolve({ status: 'ok', body: '{"result":1}' }));
    outbox.track('x', 'x', 0, bytes('{}'), Promise.resolve({ status: 'no-content', body: undefined }));
    outbox.track('broken', 'broken', 0, bytes('{}'), Promise.resolve({ status: 'too-large', body: '{}' }));
    await tick();
    expect(sent).toEqual([['broken', '{}']]);
    expect(ended).toEqual([
      ['n', undefined],
      ['x', undefined],
      ['broken', 'reply not sent: socket gone'],
    ]);
  });

  it('sends a result ready at once in the same call, before replies waiting in the outbox, and does not track it', async () => {
    const { outbox, sent, ended, runLater } = harness();
    const waiting = deferred();
    const running = deferred();
    outbox.track('waiting', 'waiting', 0, bytes('{}'), waiting.promise);
    outbox.track('running', 'running', 0, bytes('{}'), running.promise);
    waiting.resolve({ status: 'ok', body: '{"result":1}' });
    await tick(); // waits in the outbox: `running` still runs
    outbox.track('now', 'now', 0, bytes('{}'), { status: 'ok', body: '{"error":{"code":-32601}}' });
    outbox.track('quiet', undefined, 0, bytes('{}'), { status: 'ok', body: '{"result":2}' });
    outbox.track('broken', 'broken', 0, bytes('{}'), { status: 'ok', body: '{"result":3}' });
    expect(sent).toEqual([
      ['now', '{"error":{"code":-32601}}'],
      ['broken', '{"result":3}'],
    ]);
    expect(ended).toEqual([
      ['now', 'JSON-RPC error response'],
      ['quiet', undefined],
      ['broken', 'reply not sent: socket gone'],
    ]);
    runLater();
    expect(sent.map(([target]) => target)).toEqual(['now', 'broken', 'waiting']);
    // Only `running` is still tracked: the last one, its reply goes out at once.
    running.resolve({ status: 'ok', body: '{"result":4}' });
    await tick();
    expect(sent.map(([target]) => target)).toEqual(['now', 'broken', 'waiting', 'running']);
    await outbox.close(1_000, true);
    expect(ended.map(([target]) => target)).toEqual(['now', 'quiet', 'broken', 'waiting', 'running']);
  });

  it('at close abandons what still runs with an error reply by id, sends what is ready, drops late results', async () => {
    const { outbox, sent, ended } = harness();
    const running = deferred();
    const ready = deferred();
    const other = deferred();
    outbox.track(
      'running',
      'running',
      0,
      bytes('[{"jsonrpc":"2.0","id":7,"method":"m"},{"jsonrpc":"2.0","method":"n"}]'),
      running.promise,
    );
    outbox.track('ready', 'ready', 0, bytes('{}'), ready.promise);
    outbox.track('other', 'other', 0, bytes('{}'), other.promise);
    ready.resolve({ status: 'ok', body: '{"result":2}' });
    await tick(); // waits in the outbox: two others still run
    await outbox.close(1_000, true);
    expect(sent).toEqual([
      [
        'running',
        JSON.stringify([
          {
            jsonrpc: '2.0',
            id: 7,
            error: { code: -32603, message: CLOSED_WHILE_HANDLING, data: { reason: 'server-closed' } },
          },
        ]),
      ],
      ['ready', '{"result":2}'],
    ]);
    expect(ended).toEqual([
      ['running', CLOSED_WHILE_HANDLING],
      ['other', CLOSED_WHILE_HANDLING],
      ['ready', undefined],
    ]);
    running.resolve({ status: 'ok', body: '{"result":1}' });
    await tick();
    expect(sent).toHaveLength(2);
  });

  it('without abandon, close waits for the last reply (bounded by its timeout)', async () => {
    const { outbox, sent } = harness();
    const slow = deferred();
    outbox.track('slow', 'slow', 0, bytes('{}'), slow.promise);
    const closed = outbox.close(5_000, false);
    slow.resolve({ status: 'ok', body: '{"result":1}' });
    await closed;
    expect(sent).toEqual([['slow', '{"result":1}']]);
    const hung = harness();
    hung.outbox.track('hung', 'hung', 0, bytes('{}'), new Promise(() => {}));
    await hung.outbox.close(10, false); // resolves after its timeout
    expect(hung.sent).toEqual([]);
  });

  it('abandonedReply answers only entries with an id, and nothing for notifications or non-JSON', () => {
    expect(abandonedReply(bytes('{"jsonrpc":"2.0","method":"n"}'))).toBeUndefined();
    expect(abandonedReply(bytes('not json'))).toBeUndefined();
    expect(JSON.parse(abandonedReply(bytes('{"jsonrpc":"2.0","id":"a","method":"m"}')) ?? '')).toMatchObject({
      id: 'a',
      error: { code: -32603 },
    });
  });
});

describe('HeaderIncoming', () => {
  it('reads metadata from the first value of each lower-cased header; credentials on demand', () => {
    const record = headerRecord([
      ['RPC-Deadline-Ms', ['1500', '9']],
      ['Authorization', ['Bearer x']],
    ]);
    expect(record).toEqual({ 'rpc-deadline-ms': '1500', authorization: 'Bearer x' });
    const incoming = new HeaderIncoming('nats', record);
    expect(incoming.transport).toBe('nats');
    expect(incoming.metadata.deadlineMs).toBe(1500);
    expect(incoming.credentials).toBe(incoming.credentials);
    expect(incoming.credentials.headers.authorization).toBe('Bearer x');
    const bare = new HeaderIncoming('nats', headerRecord(undefined));
    expect(bare.metadata).toEqual({});
    expect(bare.credentials.headers).toEqual({});
  });
});
