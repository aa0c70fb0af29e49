/**
 * The rescue policy: an idempotent call still waiting on an endpoint that turns suspect, down or
 * ejected, or is removed from the set, or whose request is presumed lost there (the overtaken
 * rule of stall suspicion), is sent at once to another healthy endpoint (within the retry budget;
 * the first answer wins), instead of waiting for its deadline. Calls that are not idempotent are
 * never copied.
 */
export class RescuePolicy {
  constructor(readonly enabled: boolean) {}

  /** Whether a call of this idempotency is rescued. */
  appliesTo(idempotent: boolean): boolean {
    return this.enabled && idempotent;
  }
}
