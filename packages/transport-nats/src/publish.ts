import type { NatsConnection, PublishOptions } from '@nats-io/transport-node';

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
 * Publishes on one nats.js connection. A message without headers ({@link frame}) is written as
 * `PUB <subject> [reply] <bytes>\r\n<body>\r\n` text; the frames of one turn are encoded together
 * (one pooled `Buffer.from`, where nats.js's `publish` encodes each command line with a fresh
 * `TextEncoder` array and queues three buffers) into nats.js's outbound buffer in a microtask at
 * the end of the turn (nats.js writes it to the socket one microtask later, as for its own
 * `publish`). What nats.js would refuse or treat otherwise (a closed or draining connection, a body
 * over `max_payload`), and every message of a connection without these internals (another nats.js
 * version, a user's own `NatsConnection`), goes through its `publish` and throws as usual.
 * {@link publish} (headers) first hands over the frames queued before it: the order is kept.
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
  frame(subject: string, reply: string | undefined, body: string): void {
    const protocol = this.protocol;
    const bytes = protocol === undefined ? 0 : Buffer.byteLength(body);
    const max = protocol?.info?.max_payload;
    if (
      protocol === undefined ||
      protocol.noMorePublishing ||
      this.nc.isClosed() ||
      max === undefined ||
      bytes > max
    ) {
      this.publish(subject, Buffer.from(body), reply === undefined ? undefined : { reply });
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

  /** nats.js's `publish`, after the frames queued before it. */
  publish(subject: string, payload: Uint8Array | string, options?: Partial<PublishOptions>): void {
    this.handOver();
    this.nc.publish(subject, payload, options);
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
