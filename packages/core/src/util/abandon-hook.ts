/**
 * A core-internal hook between the client's attempts (`client/call.ts`, `Attempt`) and the
 * adapters' pending-call table (`transport-support/pending-calls.ts`): the table registers its
 * call to be told when the core gives up on the attempt, without making the attempt create its
 * `signal` (an `AbortController` and a listener added and removed per call). Not public: a source
 * without the hook (an `AbortSignal`, a user's own `{ signal }`) is watched through its signal.
 */

/** Registers an {@link AbandonListener} on the source: see {@link AbandonHook}. */
export const WATCH_ABANDON: unique symbol = Symbol('resilient-rpc.watchAbandon');
/** Unregisters the {@link AbandonListener} registered with {@link WATCH_ABANDON}. */
export const UNWATCH_ABANDON: unique symbol = Symbol('resilient-rpc.unwatchAbandon');

/** Told once when the attempt is abandoned (an `EventListener` object, called without event). */
export interface AbandonListener {
  handleEvent(): void;
}

/** A source that tells one listener when the core gives up on it. */
export interface AbandonHook {
  /**
   * Registers `listener`, called once when the source is abandoned (after its signal, if made,
   * has aborted); false, and nothing registered, if it has been abandoned already.
   */
  [WATCH_ABANDON](listener: AbandonListener): boolean;
  /** Unregisters `listener` (registered with {@link WATCH_ABANDON}); nothing if it was called. */
  [UNWATCH_ABANDON](listener: AbandonListener): void;
}
