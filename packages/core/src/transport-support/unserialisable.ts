import { ProtocolError } from '../errors/kinds.js';

/**
 * A request whose params cannot be written as JSON (a BigInt, a cycle, a throwing `toJSON`): a
 * `protocol` error, nothing sent, never worth retrying; `cause` is what `JSON.stringify` threw.
 */
export function unserialisable(endpoint: string, cause: unknown): ProtocolError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ProtocolError(`the request cannot be serialised as JSON: ${reason}`, { endpoint, cause });
}
