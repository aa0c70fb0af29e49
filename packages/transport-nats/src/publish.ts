import type { NatsConnection } from '@nats-io/transport-node';

/**
 * What nats.js's connection (`NatsConnectionImpl`) keeps in its `protocol` handler and this module
 * uses: not part of the public API, so every member is checked before use (see
 * {@link framePublisher}).
 */
interface ProtocolHandler {
  sendCommand(command: Uint8Array): void;
  noMorePublishing: boolean;
  info?: { max_payload?: number };
  outBytes: number;
  outMsgs: number;
}

/** Publishes `body` (JSON text) to `subject`, with `reply` as the reply subject when given. */
export type FramePublisher = (subject: string, reply: string | undefined, body: string) => void;

/**
 * A publisher for `nc` that writes each message as one `PUB <subject> [reply] <bytes>\r\n<body>\r\n`
 * frame, encoded once (Node's pooled `Buffer.from`), straight into nats.js's outbound buffer:
 * nats.js's own `publish` encodes the command line with a fresh `TextEncoder` array and queues it
 * with the payload and the CRLF as three buffers. Whatever that path would refuse or treat
 * otherwise (a closed or draining connection, a body over the server's `max_payload`) goes through
 * `nc.publish`, which throws as usual; so does every message of a connection whose nats.js does
 * not have the internals this relies on (a future version, or a user's own `NatsConnection`).
 * Subjects are not checked again: the caller passes a validated subject and a reply subject made
 * of its inbox prefix or given by the broker.
 */
export function framePublisher(nc: NatsConnection): FramePublisher {
  const viaNats: FramePublisher = (subject, reply, body) =>
    nc.publish(subject, Buffer.from(body), reply === undefined ? undefined : { reply });
  const protocol = (nc as { protocol?: Partial<ProtocolHandler> }).protocol;
  if (
    typeof protocol?.sendCommand !== 'function' ||
    typeof protocol.noMorePublishing !== 'boolean' ||
    typeof protocol.outBytes !== 'number' ||
    typeof protocol.outMsgs !== 'number'
  )
    return viaNats;
  const handler = protocol as ProtocolHandler;
  return (subject, reply, body) => {
    const bytes = Buffer.byteLength(body);
    const max = handler.info?.max_payload;
    if (handler.noMorePublishing || nc.isClosed() || max === undefined || bytes > max)
      return viaNats(subject, reply, body);
    handler.outBytes += bytes;
    handler.outMsgs++;
    const head = reply === undefined ? `PUB ${subject} ${bytes}\r\n` : `PUB ${subject} ${reply} ${bytes}\r\n`;
    handler.sendCommand(Buffer.from(`${head}${body}\r\n`));
  };
}
