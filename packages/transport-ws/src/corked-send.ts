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

function uncork(socket: Socket): void {
  socket.uncork();
}
