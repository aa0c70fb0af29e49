/**
 * Instance discovery against one broker with in-process listeners: what is found, what is
 * ignored, and the fall back to the queue subject where nothing is found.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient, createServer, type RpcClient, type RpcServer } from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { type NatsServerHandle, startNatsServer, waitFor } from '@resilient-rpc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type NatsListenerOptions,
  type NatsTransportOptions,
  natsListener,
  natsTransport,
  ServiceResponseTypes,
  serviceNameFor,
} from '../src/index.js';

const INTERVAL_MS = 200;
let broker: NatsServerHandle;
let raw: NatsConnection;
let subjects = 0;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  broker = await startNatsServer();
  raw = await connect({ servers: broker.url });
});
afterAll(async () => {
  await raw?.close();
  await broker?.kill();
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

const nextSubject = () => `discovery.${process.pid}.${++subjects}`;

async function instance(subject: string, name: string, options: Partial<NatsListenerOptions> = {}) {
  const server: RpcServer = createServer({ methods: { whoami: () => name } });
  cleanup.push(() => server.close());
  const listener = await server.listen(natsListener({ servers: broker.url, subject, ...options }));
  return { server, listener };
}

function client(subject: string, options: NatsTransportOptions = {}): RpcClient {
  const created = createClient({
    transports: [natsTransport({ discovery: { intervalMs: INTERVAL_MS }, ...options })],
    endpoints: [`${broker.url}/${subject}`],
    heartbeat: false,
  });
  cleanup.push(() => created.close());
  return created;
}

/** Lets a few discovery rounds pass. */
const rounds = (count: number) => new Promise((resolve) => setTimeout(resolve, count * INTERVAL_MS * 1.1));

describe('NATS instance discovery', () => {
  it('uses each instance through its own subject; a drained instance leaves within three intervals', async () => {
    const subject = nextSubject();
    const a = await instance(subject, 'a');
    const b = await instance(subject, 'b');
    const caller = client(subject);
    await waitFor(() => caller.endpoints.length === 2, 'both instances found', 5_000);
    expect([...caller.endpoints].sort()).toEqual([a.listener.instanceUrl, b.listener.instanceUrl].sort());
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(await caller.call<string>('whoami', [], { idempotent: true }));
    expect(seen).toEqual(new Set(['a', 'b']));

    const drainedAt = performance.now();
    const calls = Array.from({ length: 20 }, () => caller.call<string>('whoami', [], { idempotent: true }));
    await a.server.drain();
    await waitFor(() => caller.endpoints.length === 1, 'the drained instance dropped', 5_000);
    expect(performance.now() - drainedAt).toBeLessThan(3 * INTERVAL_MS * 1.1 + 500);
    expect(caller.endpoints).toEqual([b.listener.instanceUrl]);
    await Promise.all(calls); // none failed
    // the last one gone: back to the service subject (no responders → rejected at once)
    await b.server.drain();
    await waitFor(
      () => caller.endpoints[0] === `${broker.url}/${subject}`,
      'the configured URL again',
      5_000,
    );
  });

  it("a discovery round's reply subject is never a request's: answers cannot settle a call (CI failure)", async () => {
    // Requests and the discovery listener take reply tokens from one sequence. Listener tokens were
    // `l` + base 36, which request number 21 × 36 + n also spells: the discovery answers that came
    // in while that request waited were parsed as its reply ("malformed reply"), failing it.
    const subject = nextSubject();
    await instance(subject, 'a');
    const discoveryReplies = new Set<string>();
    const requestReplies: string[] = [];
    const asks = raw.subscribe(`$SRV.PING.${serviceNameFor(subject)}`, {
      callback: (_error, msg) => {
        if (msg.reply) discoveryReplies.add(msg.reply);
      },
    });
    const calls = raw.subscribe(`${subject}.>`, {
      callback: (_error, msg) => {
        if (msg.reply) requestReplies.push(msg.reply);
      },
    });
    cleanup.push(async () => {
      asks.unsubscribe();
      calls.unsubscribe();
    });
    const caller = client(subject);
    await waitFor(
      () => caller.endpoints.length === 1 && discoveryReplies.size > 0,
      'the instance found',
      5_000,
    );
    // past 21 × 36 + 36 requests: every listener token the first 36 sequence numbers could give
    for (let done = 0; done < 1_600; done += 16) {
      await Promise.all(Array.from({ length: 16 }, () => caller.call('whoami', [], { idempotent: true })));
    }
    await waitFor(() => requestReplies.length >= 1_600, 'every request seen by the raw subscriber', 5_000);
    expect(requestReplies.filter((reply) => discoveryReplies.has(reply))).toEqual([]);
  });

  it('a foreign responder (no $SRV): the queue subject is the endpoint and calls work', async () => {
    const subject = nextSubject();
    const foreign = raw.subscribe(subject, {
      callback: (_error, msg) => {
        const request = msg.json<{ id: number }>();
        msg.respond(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: 'foreign' }));
      },
    });
    cleanup.push(async () => foreign.unsubscribe());
    const caller = client(subject);
    await expect(caller.call('whoami')).resolves.toBe('foreign');
    await rounds(3);
    expect(caller.endpoints).toEqual([`${broker.url}/${subject}`]);
  });

  it('listeners with service: false, and clients with discovery: false, use the queue subject', async () => {
    const quiet = nextSubject();
    await instance(quiet, 'quiet', { service: false });
    const caller = client(quiet);
    await expect(caller.call('whoami')).resolves.toBe('quiet');
    await rounds(3);
    expect(caller.endpoints).toEqual([`${broker.url}/${quiet}`]);

    const announced = nextSubject();
    await instance(announced, 'announced');
    const off = client(announced, { discovery: false });
    await expect(off.call('whoami')).resolves.toBe('announced');
    await rounds(3);
    expect(off.endpoints).toEqual([`${broker.url}/${announced}`]);
  });

  it('ignores answers for other subjects and instance subjects outside the service subject', async () => {
    const subject = nextSubject();
    const name = serviceNameFor(subject);
    const answer = (metadata: Record<string, string>) =>
      JSON.stringify({ type: ServiceResponseTypes.ping, name, id: 'x', version: '0.0.0', metadata });
    const liar = raw.subscribe(`$SRV.PING.${name}`, {
      callback: (_error, msg) => {
        msg.respond(answer({ 'rpc.subject': subject, 'rpc.instance-subject': 'payments.rpc' }));
        msg.respond(answer({ 'rpc.subject': subject, 'rpc.instance-subject': `${subject}.a.b` }));
        msg.respond(answer({ 'rpc.subject': 'other.rpc', 'rpc.instance-subject': 'other.rpc.x' }));
        msg.respond('not json');
      },
    });
    cleanup.push(async () => liar.unsubscribe());
    await instance(subject, 'real');
    const caller = client(subject);
    await waitFor(
      () => caller.endpoints.length === 1 && caller.endpoints[0] !== `${broker.url}/${subject}`,
      'the real instance',
      5_000,
    );
    await rounds(3);
    expect(caller.endpoints).toHaveLength(1);
    expect(caller.endpoints[0]).toMatch(new RegExp(`/${subject.replaceAll('.', '\\.')}\\.[A-Za-z0-9]+$`));
    await expect(caller.call('whoami')).resolves.toBe('real');
  });

  it('an instance whose subscriptions vanish briefly (a reconnect) keeps its endpoint; one that stays away is dropped', async () => {
    const subject = nextSubject();
    const name = serviceNameFor(subject);
    /** A hand-made instance on the raw connection: it can unsubscribe and come back. */
    const fake = (id: string) => {
      const instanceSubject = `${subject}.${id}`;
      const ping = JSON.stringify({
        type: ServiceResponseTypes.ping,
        name,
        id,
        version: '0.0.0',
        metadata: { 'rpc.subject': subject, 'rpc.instance-subject': instanceSubject },
      });
      let subscriptions: Array<{ unsubscribe(): void }> = [];
      const up = () => {
        subscriptions = [
          raw.subscribe(`$SRV.PING.${name}`, {
            callback: (_e, msg) => {
              msg.respond(ping);
            },
          }),
          raw.subscribe(instanceSubject, {
            callback: (_e, msg) => {
              msg.respond(JSON.stringify({ jsonrpc: '2.0', id: msg.json<{ id: number }>().id, result: id }));
            },
          }),
        ];
      };
      const down = () => {
        for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
      };
      up();
      cleanup.push(async () => down());
      return { url: `${broker.url}/${instanceSubject}`, up, down };
    };
    const steady = fake('steady');
    const flaky = fake('flaky');
    const vanishing = fake('vanishing');
    const caller = client(subject, { discovery: { intervalMs: 500 } });
    const removed: string[] = [];
    caller.on('endpoint-removed', (event) => {
      // (the service subject's URL goes once the instances are found)
      if (event.endpoint !== `${broker.url}/${subject}`) removed.push(event.endpoint);
    });
    await waitFor(() => caller.endpoints.length === 3, 'three instances', 5_000);
    flaky.down();
    vanishing.down();
    await new Promise((resolve) => setTimeout(resolve, 300));
    flaky.up();
    await waitFor(() => removed.includes(vanishing.url), 'the vanished instance dropped', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(removed).toEqual([vanishing.url]);
    expect([...caller.endpoints].sort()).toEqual([flaky.url, steady.url].sort());
  });

  it('runs its rounds on the injected clock: a new instance is found when the clock passes the interval', async () => {
    const subject = nextSubject();
    const first = await instance(subject, 'first');
    const clock = new ManualClock();
    const transport = natsTransport({ discovery: { intervalMs: 1_000 } });
    cleanup.push(async () => transport.close?.());
    const announced: string[][] = [];
    const stop = transport.discover?.(`${broker.url}/${subject}`, {
      clock,
      random: () => 0.5, // no jitter: exactly intervalMs
      update: (urls) => announced.push([...urls]),
    });
    cleanup.push(async () => stop?.());
    // the first round goes out as soon as the connection opens
    await waitFor(() => announced.length === 1, 'the first instance', 5_000);
    expect(announced[0]).toEqual([first.listener.instanceUrl]);
    const second = await instance(subject, 'second');
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS)); // real time only
    expect(announced).toHaveLength(1);
    clock.advance(999);
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS));
    expect(announced).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => announced.length === 2, 'the second instance', 5_000);
    expect([...(announced[1] ?? [])].sort()).toEqual(
      [first.listener.instanceUrl, second.listener.instanceUrl].sort(),
    );
  });

  it('uses at most maxInstances instances of a subject', async () => {
    const subject = nextSubject();
    for (const name of ['a', 'b', 'c']) await instance(subject, name);
    const caller = client(subject, { discovery: { intervalMs: INTERVAL_MS, maxInstances: 2 } });
    await waitFor(
      () => caller.endpoints.length === 2 && !caller.endpoints.includes(`${broker.url}/${subject}`),
      'two instances',
      5_000,
    );
    await rounds(3);
    expect(caller.endpoints).toHaveLength(2);
  });
});
