import { randomFillSync } from 'node:crypto';
import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/** Send options of a text frame (explicit: a Buffer is sent as text too). */
const TEXT = { binary: false } as const;

/** The `net.Socket` ws keeps as `_socket` but does not type (undefined before it is set up). */
export function tcpSocketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

/**
 * Bytes ws has read and not parsed yet (ws's untyped `_receiver`): more than 0 in a 'message'
 * handler while frames after it in the same chunk are still to come in this tick.
 */
export function unparsedBytesOf(ws: WebSocket): number {
  return (ws as unknown as { _receiver?: { _bufferedBytes?: number } | null })._receiver?._bufferedBytes ?? 0;
}

/** A client's text frame up to this many UTF-8 bytes is masked here; a longer one by ws (bufferutil). */
const MASK_HERE_MAX_BYTES = 1_024;

/** Random masks, taken four bytes at a time (refilled as ws refills its own). */
const maskPool = Buffer.alloc(8_192);
let maskAt = maskPool.length;

/**
 * A client's `ws.send(text)`, with the TCP socket corked until the end of the tick so that the
 * frames of the calls of one tick leave in one `writev`; `alone` (the only call in flight) is
 * sent at once, uncorked.
 */
export function corkedSend(ws: WebSocket, text: string, alone: boolean): void {
  const socket = tcpSocketOf(ws);
  // Corked already means corked by an earlier send of this tick (ws uncorks its own at once).
  if (!alone && socket !== undefined && socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  sendText(ws, text, true, socket);
}

/** `ws.send(text)` as a text frame written by {@link writeFrame} (a client's `masked`), else by ws. */
export function sendText(ws: WebSocket, text: string, masked: boolean, socket = tcpSocketOf(ws)): void {
  if (socket === undefined || !writeFrame(socket, text, masked))
    // A client's UTF-8 bytes: ws masks them into the frame's own buffer (one write of one buffer).
    ws.send(masked ? Buffer.from(text) : text, TEXT);
}

/**
 * Writes `text` as one text frame in one buffer (header and UTF-8 bytes, masked by a client with
 * a random mask as ws's own): not ws's header and payload corked into a `writev` (a server's), nor
 * a copy of the bytes a client encoded first. False (nothing written) for a client's frame over
 * {@link MASK_HERE_MAX_BYTES}. Only without compression, whose ws sender never queues anything
 * (control frames are written at once too), so frames keep their order; the caller checked the
 * WebSocket is open.
 */
function writeFrame(socket: Socket, text: string, masked: boolean): boolean {
  if (masked && text.length > MASK_HERE_MAX_BYTES) return false; // a string's UTF-8 is as long at least
  const length = Buffer.byteLength(text);
  if (masked && length > MASK_HERE_MAX_BYTES) return false;
  const lengthBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const offset = 2 + lengthBytes + (masked ? 4 : 0);
  const frame = Buffer.allocUnsafe(offset + length);
  frame[0] = 0x81; // FIN, text
  if (lengthBytes === 0) frame[1] = length;
  else if (lengthBytes === 2) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt16BE(0, 2);
    frame.writeUIntBE(length, 4, 6);
  }
  frame.write(text, offset);
  if (masked) {
    frame[1] |= 0x80;
    if (maskAt === maskPool.length) {
      randomFillSync(maskPool);
      maskAt = 0;
    }
    const at = offset - 4;
    const m0 = (frame[at] = maskPool[maskAt++]!);
    const m1 = (frame[at + 1] = maskPool[maskAt++]!);
    const m2 = (frame[at + 2] = maskPool[maskAt++]!);
    const m3 = (frame[at + 3] = maskPool[maskAt++]!);
    const end = offset + length;
    let index = offset;
    for (; index + 3 < end; index += 4) {
      frame[index] = frame[index]! ^ m0;
      frame[index + 1] = frame[index + 1]! ^ m1;
      frame[index + 2] = frame[index + 2]! ^ m2;
      frame[index + 3] = frame[index + 3]! ^ m3;
    }
    if (index < end) frame[index] = frame[index]! ^ m0;
    if (index + 1 < end) frame[index + 1] = frame[index + 1]! ^ m1;
    if (index + 2 < end) frame[index + 2] = frame[index + 2]! ^ m2;
  }
  socket.write(frame);
  return true;
}

function uncork(socket: Socket): void {
  socket.uncork();
}
