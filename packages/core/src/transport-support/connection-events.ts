import type { RpcError } from '../errors/rpc-error.js';
import type { ConnectionEvent, ConnectionStatus } from '../transport.js';

/**
 * The listeners of a client connection's {@link ConnectionEvent}s (its `onEvent`): a listener
 * that throws is not the connection's failure, so it never stops the others nor reaches the
 * transport's own code (a timer or a socket callback, where it would crash the process).
 */
export class ConnectionEvents {
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();

  /** Adds a listener; the returned function removes it. The body of a connection's `onEvent`. */
  add(listener: (event: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Removes every listener (the connection is closed for good). */
  clear(): void {
    this.listeners.clear();
  }

  /** True when someone listens (skip building an event nobody reads). */
  get listened(): boolean {
    return this.listeners.size > 0;
  }

  /** Calls every listener with `event`; what one throws is dropped. */
  emit(event: ConnectionEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is not the connection's.
      }
    }
  }

  /** Emits a `status` event (with its error when there is one). */
  status(status: ConnectionStatus, error?: RpcError): void {
    if (this.listeners.size === 0) return;
    this.emit(error === undefined ? { type: 'status', status } : { type: 'status', status, error });
  }
}
