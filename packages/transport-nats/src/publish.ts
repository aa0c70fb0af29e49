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
 * `PUB <subject> [reply] <bytes>\r\n<body>\r\n` text, and the frames of one turn are encoded
 * together (one pooled `Buffer.from`) into nats.js's outbound buffer at the end of the turn's
 * synchronous work (a microtask; nats.js writes its buffer to the socket one microtask later, as
 * for its own `publish`, which encodes the command line of each message with a fresh
 * `TextEncoder` array and queues it with the payload and the CRLF as three buffers). Whatever
 * nats.js's `publish` would refuse or treat otherwise (a closed or draining connection, a body
 * over the server's `max_payload`) goes through it and throws as usual, as does every message of
 * a connection without the internals this relies on (another nats.js version, a user's own
 * `NatsConnection`). Messages keep their order: {@link publish} (headers) first hands over the
 * frames queued before it. Subjects are not checked again: callers pass a validated subject and a
 * reply subject of their own inbox or given by the broker.
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
