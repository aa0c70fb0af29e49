import type { ClientEventListener, ClientEventName, ClientEvents } from './types.js';

/**
 * A tiny typed emitter. `on` returns the unsubscribe function. Emitting to no listeners costs one
 * map lookup, so events can stay on in production. A throwing listener never breaks a call.
 */
export class TypedEmitter {
  private readonly listeners = new Map<ClientEventName, Set<(event: never) => void>>();
  /** Listeners of every event together: with none (the usual case), `has` and `emit` skip the map. */
  private total = 0;

  on<K extends ClientEventName>(name: K, listener: ClientEventListener<K>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    const size = set.size;
    set.add(listener as (event: never) => void);
    this.total += set.size - size;
    return () => {
      if (set.delete(listener as (event: never) => void)) this.total--;
    };
  }

  has(name: ClientEventName): boolean {
    if (this.total === 0) return false;
    const set = this.listeners.get(name);
    return set !== undefined && set.size > 0;
  }

  emit<K extends ClientEventName>(name: K, event: ClientEvents[K]): void {
    if (this.total === 0) return;
    const set = this.listeners.get(name);
    if (set === undefined || set.size === 0) return;
    for (const listener of set) {
      try {
        (listener as ClientEventListener<K>)(event);
      } catch {
        // A listener's bug must not fail the call that emitted the event.
      }
    }
  }

  listenerCount(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }
}
