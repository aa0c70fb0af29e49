import { type AddressInfo, connect, type Server, type Socket } from 'node:net';

/**
 * The connections a listening server's kernel has queued but the server has not accepted yet, for
 * a graceful `close()`. Closing a listening socket resets every connection still in its accept
 * queue: clients that connected and wrote a request would see ECONNRESET after sending it ("may
 * have been processed", so a non-idempotent call fails) although the server never read it. A busy
 * server (a slow event loop) can hold connections there for hundreds of milliseconds.
 *
 * {@link flush} opens a connection of the server's own to its port: the kernel queues it behind
 * every connection that arrived before it, and accepts them in order, so once the server accepts
 * it (the listener asks {@link isMarker} of each new connection) every connection queued before has
 * been accepted too, and the port can close with nothing of a client's waiting in the queue.
 */
export class AcceptQueue {
  private marker: Socket | undefined;
  private finish: (() => void) | undefined;

  /**
   * Whether `socket`, just accepted, is the connection of {@link flush}: if so it is closed and the
   * flush is done (the listener must not serve it). Cheap when no flush is under way.
   */
  isMarker(socket: Socket): boolean {
    const marker = this.marker;
    if (marker === undefined) return false;
    if (socket.remotePort !== marker.localPort || socket.remoteAddress !== marker.localAddress) return false;
    socket.destroy();
    this.finish?.();
    return true;
  }

  /**
   * Resolves once `server` has accepted every connection queued before now, or after `timeoutMs`
   * (a marker that cannot connect, or goes to another process sharing the port, proves nothing).
   */
  flush(server: Server, timeoutMs: number): Promise<void> {
    const address = server.address();
    if (!server.listening || address === null || typeof address === 'string') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const marker = connect({ host: loopbackFor(address), port: address.port });
      const timer = setTimeout(() => this.finish?.(), timeoutMs);
      this.marker = marker;
      this.finish = () => {
        this.marker = undefined;
        this.finish = undefined;
        clearTimeout(timer);
        marker.destroy();
        resolve();
      };
      const failed = () => {
        if (this.marker === marker) this.finish?.();
      };
      // Refused, or closed by the server before it reached the listener (node:net drops
      // connections past `maxConnections` right after accepting them: the queue was read).
      marker.once('error', failed);
      marker.once('close', failed);
    });
  }
}

/** Where the server itself reaches a listening address (a wildcard one on the loopback). */
function loopbackFor({ address, family }: AddressInfo): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return family === 'IPv6' ? '::1' : '127.0.0.1';
  return address;
}
