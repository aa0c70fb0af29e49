import type { Socket } from 'node:net';
import type WebSocket from 'ws';

const corked = new WeakSet<Socket>();

/**
 * `ws.send(text)`, with the underlying TCP socket corked until the end of the current tick so
 * that the frames of many calls made in the same tick leave in one `writev` rather than one
 * system call each. `_socket` is the `net.Socket` ws keeps; without it this is a plain send.
 * `written` is called once the frame was handed to the kernel (or failed to be).
 */
export function corkedSend(ws: WebSocket, text: string, written?: (error?: Error) => void): void {
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  if (socket !== undefined && !corked.has(socket) && typeof socket.cork === 'function') {
    corked.add(socket);
    socket.cork();
    process.nextTick(uncork, socket);
  }
  if (written === undefined) ws.send(text);
  else ws.send(text, written);
}

function uncork(socket: Socket): void {
  corked.delete(socket);
  socket.uncork();
}
