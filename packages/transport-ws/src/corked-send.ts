import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/** Send options of a text frame (explicit: a Buffer is sent as text too). */
const TEXT = { binary: false } as const;

/**
 * The `net.Socket` under a WebSocket: `_socket`, which ws keeps but does not type (undefined
 * before the socket is set up). The one place that reaches into ws's internals for it.
 */
export function tcpSocketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

/**
 * How many bytes ws has read from the socket and not parsed yet: more than 0 while a frame's
 * 'message' handler runs, the frames after it in the same chunk (or part of one) are still to
 * come in this tick. Reaches into ws's `_receiver`, which ws does not type (0 without one).
 */
export function unparsedBytesOf(ws: WebSocket): number {
  return (ws as unknown as { _receiver?: { _bufferedBytes?: number } | null })._receiver?._bufferedBytes ?? 0;
}

/**
 * `ws.send(data)` as a text frame, with the underlying TCP socket corked until the end of the current tick so
 * that the frames of many calls made in the same tick leave in one `writev` rather than one
 * system call each. Without a TCP socket ({@link tcpSocketOf}) this is a plain send. A
 * client passes UTF-8 bytes: ws then masks them into the frame's own buffer (one write of one
 * buffer) instead of encoding a string and writing header and payload apart.
 * `alone`: no other frame is expected in this tick (the only call in flight): it is sent at once,
 * without corking (no tick scheduled for one frame).
 */
export function corkedSend(ws: WebSocket, data: string | Buffer, alone = false): void {
  const socket = tcpSocketOf(ws);
  // Corked already means corked by an earlier send of this tick (ws uncorks its own at once).
  if (!alone && socket !== undefined && socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  ws.send(data, TEXT);
}

/**
 * `ws.send(text)` of a server (whose frames are not masked) as one buffer written to the TCP
 * socket: the frame's header and the text's UTF-8 bytes together, so that the socket writes one
 * buffer instead of corking ws's header and the string into a `writev` (one write less to queue
 * and flush per reply). Only for a socket opened without compression (the listener's, which never
 * sends anything ws would queue): ws's sender writes its control frames at once too, so the
 * order of frames is kept. Without a TCP socket ({@link tcpSocketOf}) this is `ws.send(text)`.
 */
export function sendServerText(ws: WebSocket, text: string): void {
  const socket = tcpSocketOf(ws);
  if (socket === undefined) {
    ws.send(text);
    return;
  }
  const length = Buffer.byteLength(text);
  const offset = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(offset + length);
  frame[0] = 0x81; // FIN, text
  if (offset === 2) frame[1] = length;
  else if (offset === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt16BE(0, 2);
    frame.writeUIntBE(length, 4, 6);
  }
  frame.write(text, offset);
  socket.write(frame);
}

function uncork(socket: Socket): void {
  socket.uncork();
}
