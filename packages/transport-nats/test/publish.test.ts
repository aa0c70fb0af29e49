/**
 * The frame publisher (requests and replies without headers): `PUB` frames written straight into
 * nats.js's outbound buffer, those of one turn together, arrive as `nc.publish` would send them
 * (subject, reply subject, body bytes, order, the connection's statistics); whatever nats.js's own
 * `publish` refuses goes through it and throws as usual; a connection without nats.js's internals
 * is published to through its public `publish`.
 */
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FramePublisher } from '../src/publish.js';

describe('NATS frame publisher', () => {
  let broker: NatsServerHandle;
  let publisher: NatsConnection;
  let receiver: NatsConnection;

  beforeAll(async () => {
    broker = await startNatsServer();
    publisher = await connect({ servers: broker.url });
    receiver = await connect({ servers: broker.url });
  });

  afterAll(async () => {
    await publisher?.close();
    await receiver?.close();
    await broker?.kill();
  });

  /** The next `count` messages on `subject`. */
  async function received(subject: string, count: number, send: () => void): Promise<Msg[]> {
    const messages: Msg[] = [];
    const sub = receiver.subscribe(subject, { max: count });
    await receiver.flush();
    send();
    for await (const msg of sub) messages.push(msg);
    return messages;
  }

  it('sends what nats.js publish sends: subject, reply subject, UTF-8 body, statistics', async () => {
    const frames = new FramePublisher(publisher);
    const publish = frames.frame.bind(frames);
    const body = JSON.stringify({ text: 'héllo ✓ 日本', n: 1 });
    const before = publisher.stats();
    const messages = await received('frames.one', 3, () => {
      publish('frames.one', '_INBOX.abc.7', body);
      publish('frames.one', undefined, body);
      publish('frames.one', undefined, '');
    });
    expect(messages.map((msg) => [msg.subject, msg.reply ?? '', msg.string(), msg.headers])).toEqual([
      ['frames.one', '_INBOX.abc.7', body, undefined],
      ['frames.one', '', body, undefined],
      ['frames.one', '', '', undefined],
    ]);
    const after = publisher.stats();
    expect(after.outMsgs - before.outMsgs).toBe(3);
    expect(after.outBytes - before.outBytes).toBe(2 * Buffer.byteLength(body));
  });

  it("hands a turn's frames to nats.js together at its end, before a later publish with headers", async () => {
    const frames = new FramePublisher(publisher);
    const protocol = (publisher as unknown as { protocol: { sendCommand(...args: unknown[]): void } })
      .protocol;
    const sendCommand = protocol.sendCommand;
    const commands: string[] = [];
    protocol.sendCommand = function (this: unknown, command: unknown, ...rest: unknown[]) {
      commands.push(typeof command === 'string' ? command : Buffer.from(command as Uint8Array).toString());
      sendCommand.call(this, command, ...rest);
    };
    try {
      const messages = await received('frames.order', 4, () => {
        frames.frame('frames.order', undefined, '1');
        frames.frame('frames.order', undefined, '2');
        expect(commands).toEqual([]); // queued until the end of the turn
        frames.frame('frames.order', undefined, '3', headers());
        frames.frame('frames.order', undefined, '4');
      });
      expect(messages.map((msg) => msg.string())).toEqual(['1', '2', '3', '4']);
      expect(commands[0]).toBe('PUB frames.order 1\r\n1\r\nPUB frames.order 1\r\n2\r\n');
      expect(commands[1]).toMatch(/^HPUB frames\.order /);
      expect(commands[2]).toBe('PUB frames.order 1\r\n4\r\n');
    } finally {
      protocol.sendCommand = sendCommand;
    }
  });

  it("goes through nats.js's publish for a draining or closed connection, or a body over max_payload", async () => {
    const own = await connect({ servers: broker.url });
    const frames = new FramePublisher(own);
    const publish = frames.frame.bind(frames);
    const protocol = (
      own as unknown as { protocol: { noMorePublishing: boolean; info: { max_payload: number } } }
    ).protocol;
    const max = protocol.info.max_payload;
    expect(() => publish('frames.big', undefined, 'x'.repeat(max + 1))).toThrow(/payload/i);
    protocol.noMorePublishing = true;
    expect(() => publish('frames.x', undefined, '{}')).toThrow(/drain/i);
    protocol.noMorePublishing = false;
    await own.close();
    expect(() => publish('frames.x', undefined, '{}')).toThrow(/closed/i);
  });

  it('publishes through the public publish on a connection without the internals', async () => {
    const calls: unknown[][] = [];
    const wrapped = {
      isClosed: () => false,
      publish: (...args: unknown[]) => calls.push(args),
    } as unknown as NatsConnection;
    const frames = new FramePublisher(wrapped);
    const publish = frames.frame.bind(frames);
    publish('frames.w', '_INBOX.w.1', '{"a":"é"}');
    publish('frames.w', undefined, '{}');
    expect(calls).toEqual([
      ['frames.w', Buffer.from('{"a":"é"}'), { reply: '_INBOX.w.1' }],
      ['frames.w', Buffer.from('{}'), { reply: undefined, headers: undefined }],
    ]);
  });
});
