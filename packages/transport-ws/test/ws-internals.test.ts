import { once } from 'node:events';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { sendText, tcpSocketOf, unparsedBytesOf } from '../src/corked-send.js';

// The fast paths of corked-send.ts read members ws does not document (docs/architecture.md,
// "Where adapters reach past their library's API") and fall back to `ws.send` without them. These
// tests fail when the pinned ws no longer has them, instead of the adapter slowing down silently.

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function pair(): Promise<{ client: WebSocket; server: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  cleanups.push(() => new Promise((resolve) => wss.close(resolve)));
  await once(wss, 'listening');
  const { port } = wss.address() as { port: number };
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  cleanups.push(() => client.terminate());
  await once(client, 'open');
  const [server] = await accepted;
  return { client, server };
}

/** Counts the writes to a socket while `send` runs. */
function writesDuring(socket: Socket, send: () => void): number {
  let writes = 0;
  const write = socket.write;
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    writes++;
    return write.apply(this, args);
  } as Socket['write'];
  try {
    send();
  } finally {
    socket.write = write;
  }
  return writes;
}

describe("the ws internals the adapter's fast paths use", () => {
  it('a WebSocket keeps its TCP socket, and a text frame is written to it as one buffer both ways', async () => {
    const { client, server } = await pair();
    const clientSocket = tcpSocketOf(client);
    const serverSocket = tcpSocketOf(server);
    expect(clientSocket).toBeInstanceOf(Socket);
    expect(serverSocket).toBeInstanceOf(Socket);

    const atServer = once(server, 'message') as Promise<[Buffer, boolean]>;
    expect(writesDuring(clientSocket!, () => sendText(client, '{"a":"é"}', true))).toBe(1);
    const [request, requestBinary] = await atServer;
    expect([request.toString(), requestBinary]).toEqual(['{"a":"é"}', false]);

    const atClient = once(client, 'message') as Promise<[Buffer, boolean]>;
    expect(writesDuring(serverSocket!, () => sendText(server, '{"b":1}', false))).toBe(1);
    const [reply, replyBinary] = await atClient;
    expect([reply.toString(), replyBinary]).toEqual(['{"b":1}', false]);
  });

  it("a 'message' handler sees the bytes of the same chunk still to be parsed", async () => {
    const { client, server } = await pair();
    const seen: number[] = [];
    server.on('message', () => seen.push(unparsedBytesOf(server)));
    // Three frames in one write: while the first two are handled, the rest is still unparsed.
    const frames = ['1', '2', '3'].map((text) => {
      const frame = Buffer.alloc(2 + 4 + text.length);
      frame[0] = 0x81;
      frame[1] = 0x80 | text.length; // masked with the key 0 0 0 0: the payload is as is
      frame.write(text, 6);
      return frame;
    });
    tcpSocketOf(client)!.write(Buffer.concat(frames));
    await new Promise<void>((resolve) => {
      const check = () => (seen.length === 3 ? resolve() : setImmediate(check));
      check();
    });
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
    expect(seen[2]).toBe(0);
  });
});
