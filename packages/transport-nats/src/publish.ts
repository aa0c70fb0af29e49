import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';

/**
 * What nats.js's connection (`NatsConnectionImpl`) keeps in its `protocol` handler and
 * {@link FramePublisher} uses: not part of the public API, so every member is checked first.
 */
interface ProtocolHandler {
  sendCommand(command: Uint8Array): void;
  noMorePublishing: boolean;
  info?: { max_payload?: number };
  outBytes: number;
  outMsgs: number;
}

const usable = (protocol: Partial<ProtocolHandler> | undefined): protocol is ProtocolHandler =>
  typeof protocol?.sendCommand === 'function' &&
  typeof protocol.noMorePublishing === 'boolean' &&
  typeof protocol.outBytes === 'number' &&
  typeof protocol.outMsgs === 'number';

/**
 * Publishes on one nats.js connection. A message without headers is written as
 * `PUB <subject> [reply] <bytes>\r\n<body>\r\n` text; the frames of one turn are encoded together
 * (one pooled `Buffer.from`, where nats.js's `publish` encodes each command line with a fresh
 * `TextEncoder` array and queues three buffers) into nats.js's outbound buffer in a microtask at
 * the end of the turn (nats.js writes it to the socket one microtask later, as for its own
 * `publish`). A message with headers, what nats.js would refuse or treat otherwise (a closed or
 * draining connection, a body over `max_payload`), and every message of a connection without these
 * internals (another nats.js version, a user's own `NatsConnection`), goes through its `publish`
 * (after the frames queued before it: the order is kept) and throws as usual.
 * Subjects are not checked again: callers pass validated ones, or reply subjects of their own inbox
 * or of the broker.
 */
export class FramePublisher {
  private readonly protocol: ProtocolHandler | undefined;
  /** The frames of this turn, not yet handed to nats.js. */
  private queued = '';

  constructor(private readonly nc: NatsConnection) {
    const protocol = (nc as { protocol?: Partial<ProtocolHandler> }).protocol;
    this.protocol = usable(protocol) ? protocol : undefined;
  }

  /** Publishes `body` (JSON text) to `subject`, with `reply` as its reply subject if given. */
  frame(subject: string, reply: string | undefined, body: string, headers?: MsgHdrs): void {
    const protocol = headers === undefined ? this.protocol : undefined;
    const bytes = protocol === undefined ? 0 : Buffer.byteLength(body);
    const max = protocol?.info?.max_payload;
    if (
      protocol === undefined ||
      protocol.noMorePublishing ||
      this.nc.isClosed() ||
      max === undefined ||
      bytes > max
    ) {
      this.handOver();
      // Buffer.from: a slice of Node's pool, cheaper than the TextEncoder nats.js would use on a string.
      this.nc.publish(subject, Buffer.from(body), { reply, headers });
      return;
    }
    protocol.outBytes += bytes;
    protocol.outMsgs++;
    if (this.queued === '') queueMicrotask(this.handOver);
    this.queued +=
      reply === undefined
        ? `PUB ${subject} ${bytes}\r\n${body}\r\n`
        : `PUB ${subject} ${reply} ${bytes}\r\n${body}\r\n`;
  }

  /** Hands the queued frames to nats.js (which writes them to the socket). */
  private readonly handOver = (): void => {
    const frames = this.queued;
    if (frames === '') return;
    this.queued = '';
    try {
      this.protocol!.sendCommand(Buffer.from(frames));
    } catch {
      // (Not expected: nats.js only buffers here, and reports write failures through the
      // connection's status. Run as a microtask, a throw would end the process; the calls of these
      // frames then fail by their timeout, as for a lost connection.)
    }
  };
}
