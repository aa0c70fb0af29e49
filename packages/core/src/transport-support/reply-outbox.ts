import { ErrorCodes } from '../protocol/codes.js';
import { errorResponse } from '../protocol/messages.js';
import type { DispatchResult } from '../transport.js';
import { QuietWait } from './quiet-wait.js';

/** Why a request the listener gave up on at close counts as failed (and its error reply's message). */
export const CLOSED_WHILE_HANDLING = 'the server closed while handling the request';
const ERROR_MARK = '"error":{"code":';
const decoder = new TextDecoder();

/** What a {@link ReplyOutbox} does with the requests it tracks (`T`: what the adapter counts them in). */
export interface ReplySink<T> {
  /** Writes `body` to a request's reply address; the error message if that failed, else undefined. */
  send(address: string, body: string): string | undefined;
  /**
   * The request is done: its reply went out (or could not), it needed none, or it was given up at
   * close. `failed`: why it counts as an error (for the listener's statistics), if it does;
   * `started`: when it arrived, as given to `track`.
   */
  ended(target: T, failed: string | undefined, started: number): void;
  /**
   * Runs `flush` once the current event-loop turn's I/O is handled (Node's `setImmediate`): the
   * replies that become ready meanwhile go out with it.
   */
  later(flush: () => void): void;
}

interface Entry<T> {
  readonly target: T;
  /** Where the reply goes; none (or empty) for a notification published without one. */
  readonly address: string | undefined;
  readonly started: number;
  /** The request as received: read again only if it must be abandoned at close. */
  readonly data: Uint8Array;
  /** The reply, once the handler is done (waiting in the outbox). */
  answer: string | undefined;
  failed: string | undefined;
  settled: boolean;
}

/** Why a dispatch result counts as an error: its status, or an error response in its body. */
function failureOf(result: DispatchResult): string | undefined {
  if (result.status !== 'ok') return result.status === 'no-content' ? undefined : result.status;
  return result.body?.includes(ERROR_MARK) ? 'JSON-RPC error response' : undefined;
}

/**
 * The reply to a request given up on at close (its handler did not end in time): -32603
 * `server-closed` for every entry with an id, by id, or `undefined` when none needs an answer.
 * Read again from the request, off the hot path.
 */
export function abandonedReply(data: Uint8Array): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  const responses = (Array.isArray(parsed) ? parsed : [parsed])
    .filter((item) => typeof item === 'object' && item !== null && 'id' in item)
    .map(({ id }) =>
      errorResponse(
        typeof id === 'string' || typeof id === 'number' ? id : null,
        ErrorCodes.InternalError,
        CLOSED_WHILE_HANDLING,
        { reason: 'server-closed' },
      ),
    );
  if (responses.length === 0) return undefined;
  return JSON.stringify(Array.isArray(parsed) ? responses : responses[0]);
}

/**
 * The requests a listener on a message broker has under way (one connection carries every
 * caller; each request names its own reply address): coalesces the replies that are ready in one
 * event-loop turn into one write, and at close answers those still running with an error, so
 * that callers need not wait for their deadline (over TCP the socket would close; a broker has
 * no connection to drop), then waits a bounded time for the replies still going out. Used by the
 * NATS listener; any broker-based listener (one subscription, a reply subject per request) fits.
 */
export class ReplyOutbox<T> {
  private readonly active = new Set<Entry<T>>();
  private outbox: Entry<T>[] = [];
  private readonly allAnswered = new QuietWait();

  constructor(private readonly sink: ReplySink<T>) {}

  /**
   * Tracks a request whose dispatch is under way: `target` is what it counts in, `address` its
   * reply address, `started` when it arrived (on the adapter's clock; handed back to `ended`).
   * A `result` ready at once (the dispatcher's `dispatchNow`) is sent at once and not tracked:
   * the broker client gathers what is sent in one turn into one write anyway.
   */
  track(
    target: T,
    address: string | undefined,
    started: number,
    data: Uint8Array,
    result: DispatchResult | Promise<DispatchResult>,
  ): void {
    if (!(result instanceof Promise)) {
      const failed = failureOf(result);
      const body = result.body;
      this.sink.ended(
        target,
        body === undefined || !address ? failed : this.send(address, body, failed),
        started,
      );
      return;
    }
    const entry: Entry<T> = {
      target,
      address,
      started,
      data,
      answer: undefined,
      failed: undefined,
      settled: false,
    };
    this.active.add(entry);
    result.then((outcome) => {
      if (entry.settled) return; // abandoned at close: an error reply already went out
      entry.failed = failureOf(outcome);
      if (outcome.body === undefined || !address) return this.finish(entry, entry.failed);
      // Once every request in flight has its answer, they go out now (a lone call waits no
      // event-loop turn); while others are still running, replies ready in the same turn wait
      // for the end of it and go out together: one socket write for many.
      entry.answer = outcome.body;
      this.outbox.push(entry);
      if (this.outbox.length === this.active.size) this.flush();
      else if (this.outbox.length === 1) this.sink.later(this.flush);
    });
  }

  private readonly flush = (): void => {
    const batch = this.outbox;
    this.outbox = [];
    for (const entry of batch) {
      if (entry.settled || entry.answer === undefined || !entry.address) continue;
      this.finish(entry, this.send(entry.address, entry.answer, entry.failed));
    }
  };

  /** Sends a reply; what its request counts as: `failed`, or why the reply was not sent. */
  private send(address: string, body: string, failed: string | undefined): string | undefined {
    const unsent = this.sink.send(address, body);
    return unsent === undefined ? failed : `reply not sent: ${unsent}`;
  }

  private finish(entry: Entry<T>, failed: string | undefined): void {
    if (entry.settled) return;
    entry.settled = true;
    this.active.delete(entry);
    this.sink.ended(entry.target, failed, entry.started);
    if (this.active.size === 0) this.allAnswered.quiet();
  }

  /**
   * At close: with `abandon` (the server closes without waiting for its handlers: its drain timed
   * out, or `close()`), every request still being handled gets its {@link abandonedReply} now and
   * its late result is discarded; replies ready go out; then waits for the last replies, at most
   * `timeoutMs`.
   */
  async close(timeoutMs: number, abandon: boolean): Promise<void> {
    if (abandon) {
      for (const entry of [...this.active]) {
        if (entry.answer !== undefined) continue; // its answer is ready and goes out with the outbox
        const reply = entry.address ? abandonedReply(entry.data) : undefined;
        if (reply !== undefined) this.sink.send(entry.address!, reply);
        this.finish(entry, CLOSED_WHILE_HANDLING);
      }
    }
    if (this.outbox.length > 0) this.flush();
    if (this.active.size > 0) await this.allAnswered.wait(timeoutMs);
  }
}
