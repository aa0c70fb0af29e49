import { InFlightLimit } from '../server/in-flight-limit.js';
import type { DispatchOptions } from '../transport.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';

/** The connection a {@link WriteBackpressure} reads and writes (a `ws` WebSocket fits as it is). */
export interface BackpressuredStream {
  /** Reply bytes sent on it and not handed to the kernel yet. */
  readonly bufferedAmount: number;
  /** Stops reading it. */
  pause(): void;
  /** Reads it again. */
  resume(): void;
  /** Cuts it off: its peer read nothing of ours for the whole stalled-read timeout. */
  terminate(): void;
}

/** Options of {@link WriteBackpressure}. */
export interface WriteBackpressureOptions {
  /** Requests of the connection handled or waiting for their reply to be written at once. */
  readonly maxInFlightPerConnection: number;
  /** Unsent reply bytes past which the connection is not read until half of them are sent. */
  readonly maxBufferedBytes: number;
  /** A connection not read for this long is cut off, ms (`Infinity`: never). */
  readonly stalledReadTimeoutMs: number;
  /** Called when reading resumes, before it does (what arrived while paused could not be read). */
  readonly onResume?: () => void;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * The slots one message took from its connection's {@link InFlightLimit}. The dispatcher releases
 * a slot when the request is answered; here it stays taken until the reply is written, so that a
 * peer that does not read its replies cannot have more than `maxInFlight` of them buffered.
 * One small object per message: the dispatcher uses only `maxInFlight`, `tryAcquire` and
 * `release` of the limit it is given (an `InFlightLimit` subclass would also allocate its own
 * count and waiters on every message).
 */
export class HeldUntilWritten
  implements Pick<InFlightLimit, 'maxInFlight' | 'tryAcquire' | 'release'>, DispatchOptions
{
  /** Requests of the message admitted (their slots are held). */
  held = 0;
  /** Requests of the message the connection's limit refused. */
  refused = 0;
  readonly maxInFlight: number;
  /** It is the message's dispatch options too (one object per message, not two). */
  readonly limit: InFlightLimit;
  readonly answerEachEntry = true;

  constructor(private readonly connection: InFlightLimit) {
    this.maxInFlight = connection.maxInFlight;
    this.limit = this as unknown as InFlightLimit;
  }

  tryAcquire(): boolean {
    if (this.connection.tryAcquire()) {
      this.held++;
      return true;
    }
    this.refused++;
    return false;
  }

  /** Answered: the slot is released once the reply is written ({@link WriteBackpressure.written}). */
  release(): void {}
}

/**
 * Write backpressure of one server connection that carries many requests at once: a request
 * stays counted in flight until its reply has been handed to the kernel (not when its handler
 * ends), and while more than `maxBufferedBytes` of replies wait to be sent the connection is not
 * read, so a peer that sends without reading cannot grow our memory; a connection not read for
 * `stalledReadTimeoutMs` is cut off. The adapter dispatches each message with {@link message}'s
 * limit, reports each reply as {@link sending} then {@link sent}, and each reply handed to the
 * kernel (or failed, or not needed) as {@link written}. Used by the WebSocket listener; any
 * listener of a stream connection with many requests in flight (raw TCP or IPC, HTTP/2) can use it.
 */
export class WriteBackpressure {
  /** Requests admitted whose reply has not been written yet (batch entries count one each). */
  private readonly slots: InFlightLimit;
  /** Of those, the ones whose reply is sent and not yet handed to the kernel. */
  private awaitingWrite = 0;
  /** The connection is not read because too many reply bytes wait to be sent. */
  private paused = false;
  private stallTimer: TimerHandle | undefined;

  constructor(
    private readonly stream: BackpressuredStream,
    private readonly options: WriteBackpressureOptions,
  ) {
    this.slots = new InFlightLimit(options.maxInFlightPerConnection);
  }

  /** Requests being handled or whose reply is not written yet. */
  get inFlight(): number {
    return this.slots.inFlight;
  }

  /** The connection is not being read: its peer does not read the replies. */
  get stalled(): boolean {
    return this.paused;
  }

  /** The limit (and dispatch options) of one incoming message; pass it to {@link dispatched} too. */
  message(): HeldUntilWritten {
    return new HeldUntilWritten(this.slots);
  }

  /** The message's dispatch started (its requests were admitted or refused). */
  dispatched(limit: HeldUntilWritten): void {
    // Refused while slots are held by replies the peer has not read yet: reading on would only
    // parse and refuse (id-less entries are refused silently, so no reply bytes would pause us).
    if (limit.refused > 0 && this.awaitingWrite > 0 && !this.paused) this.pause();
  }

  /** The reply of `held` requests is about to be sent (or was not needed: then {@link written}). */
  sending(held: number): void {
    this.awaitingWrite += held;
  }

  /** A reply was sent: past `maxBufferedBytes` of unsent replies the connection stops being read. */
  sent(): void {
    if (!this.paused && this.stream.bufferedAmount > this.options.maxBufferedBytes) this.pause();
  }

  /** `count` requests are answered (their reply written, failed or not needed): free their slots. */
  written(count: number): void {
    if (count > 0) {
      this.awaitingWrite -= count;
      for (let index = 0; index < count; index++) this.slots.release();
    }
    // Resume at half the bound, so that a slow reader does not flip the connection on every frame.
    if (
      this.paused &&
      this.slots.inFlight < this.slots.maxInFlight &&
      this.stream.bufferedAmount <= this.options.maxBufferedBytes / 2
    )
      this.resume();
  }

  /** The connection closed: no stalled-read timer is left behind. */
  stop(): void {
    this.stallTimer?.cancel();
    this.stallTimer = undefined;
  }

  private pause(): void {
    this.paused = true;
    this.stream.pause();
    if (!Number.isFinite(this.options.stalledReadTimeoutMs)) return;
    // The peer read nothing of ours for the whole timeout: its replies are not wanted.
    const clock = this.options.clock ?? systemClock;
    this.stallTimer = clock.setTimeout(() => this.stream.terminate(), this.options.stalledReadTimeoutMs);
  }

  private resume(): void {
    this.paused = false;
    this.stop();
    this.options.onResume?.();
    this.stream.resume();
  }
}
