import { metadataFromRecord } from '../protocol/metadata.js';

export { metadataFromRecord };

import type { WireMetadata } from '../protocol/types.js';
import type { IncomingContext, IncomingCredentials } from '../transport.js';

const EMPTY_METADATA: WireMetadata = Object.freeze({});

/**
 * Message headers as (name, values) pairs (a broker client's header map) read once into a
 * lower-case record, the first value of each name; `undefined` for a message without headers.
 */
export function headerRecord(
  headers: Iterable<readonly [string, readonly string[]]> | undefined,
): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  const record: Record<string, string> = {};
  for (const [key, values] of headers) {
    const name = key.toLowerCase();
    if (record[name] === undefined && values[0] !== undefined) record[name] = values[0];
  }
  return record;
}

/**
 * The context of a message whose only transport facts are its headers (a request from a
 * broker): the call metadata read from them, and credentials (the headers) built only when a hook
 * reads them. A message without headers shares one frozen empty metadata.
 */
export class HeaderIncoming implements IncomingContext {
  readonly metadata: WireMetadata;
  private cachedCredentials: IncomingCredentials | undefined;

  constructor(
    readonly transport: string,
    private readonly headers: Record<string, string> | undefined,
  ) {
    this.metadata = headers === undefined ? EMPTY_METADATA : metadataFromRecord(headers);
  }

  get credentials(): IncomingCredentials {
    this.cachedCredentials ??= { headers: this.headers ?? {} };
    return this.cachedCredentials;
  }
}
