import type { WireMetadata } from './types.js';

/** Header names used by header-carrying transports (HTTP, NATS). Lower case. */
export const MetadataHeaders = {
  deadlineMs: 'rpc-deadline-ms',
  idempotent: 'rpc-idempotent',
  attempt: 'rpc-attempt',
  traceId: 'rpc-trace-id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

const MAX_TRACE_ID_LENGTH = 128;

/**
 * W3C Trace Context `traceparent`: version, trace id, parent id, flags, lower-case hex. Version
 * `ff` is invalid; a future version may append fields after a dash (the spec asks parsers of
 * version 00 to read the first four and keep the header).
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?$/;
const ALL_ZERO_TRACE_ID = '0'.repeat(32);
const ALL_ZERO_PARENT_ID = '0'.repeat(16);
/** The longest `traceparent` kept (version 00 is 55 characters; later versions may be longer). */
const MAX_TRACEPARENT_LENGTH = 256;
/** W3C Trace Context: a `tracestate` carries at most 32 list members; 512 characters is the propagation minimum. */
const MAX_TRACESTATE_LENGTH = 512;
const MAX_TRACESTATE_MEMBERS = 32;
/** One `tracestate` list member: `key=value` (simple or `tenant@system` key; printable value without `,` or `=`, no trailing space). */
const TRACESTATE_MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** A well-formed W3C `traceparent` (see {@link WireMetadata.traceparent}), or undefined. */
export function parseTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length < 55 || value.length > MAX_TRACEPARENT_LENGTH)
    return undefined;
  const match = TRACEPARENT.exec(value);
  if (match === null) return undefined;
  const version = match[1];
  if (version === 'ff') return undefined;
  // Version 00 has exactly four fields; only a later version may carry more.
  if (version === '00' && match[5] !== undefined) return undefined;
  if (match[2] === ALL_ZERO_TRACE_ID || match[3] === ALL_ZERO_PARENT_ID) return undefined;
  return value;
}

/**
 * A well-formed W3C `tracestate` (see {@link WireMetadata.tracestate}), with empty list members
 * dropped and spaces around members trimmed; undefined when malformed, too long or empty.
 */
export function parseTracestate(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TRACESTATE_LENGTH)
    return undefined;
  const members: string[] = [];
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member.length === 0) continue;
    if (!TRACESTATE_MEMBER.test(member)) return undefined;
    members.push(member);
  }
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return undefined;
  return members.join(',');
}

/** Writes metadata as header pairs (values are strings); absent fields are skipped. */
export function metadataToHeaders(metadata: WireMetadata, set: (name: string, value: string) => void): void {
  if (metadata.deadlineMs !== undefined)
    set(MetadataHeaders.deadlineMs, String(Math.max(0, Math.floor(metadata.deadlineMs))));
  if (metadata.idempotent) set(MetadataHeaders.idempotent, '1');
  if (metadata.attempt !== undefined) set(MetadataHeaders.attempt, String(metadata.attempt));
  if (metadata.traceId !== undefined) set(MetadataHeaders.traceId, metadata.traceId);
  if (metadata.traceparent !== undefined) set(MetadataHeaders.traceparent, metadata.traceparent);
  if (metadata.tracestate !== undefined) set(MetadataHeaders.tracestate, metadata.tracestate);
}

/**
 * Reads metadata from headers through `get` (case-insensitive lookup is the caller's job).
 * Malformed values are ignored rather than trusted.
 */
export function metadataFromHeaders(get: (name: string) => string | undefined | null): WireMetadata {
  return Sanitized.mark(
    sanitizedFields(
      get(MetadataHeaders.deadlineMs),
      get(MetadataHeaders.idempotent),
      get(MetadataHeaders.attempt),
      get(MetadataHeaders.traceId),
      get(MetadataHeaders.traceparent),
      get(MetadataHeaders.tracestate),
    ),
  );
}

/**
 * {@link metadataFromHeaders} of a record of lower-case header names (node:http's `req.headers`,
 * a broker message's `headerRecord`), without a lookup function: the same metadata for the same
 * string values. An array (node:http's `set-cookie`) is dropped by every field; a number or `true`
 * (never in those records) is read as {@link sanitizeMetadata} reads it.
 */
export function metadataFromRecord(headers: Readonly<Record<string, unknown>>): WireMetadata {
  return Sanitized.mark(
    sanitizedFields(
      headers[MetadataHeaders.deadlineMs],
      headers[MetadataHeaders.idempotent],
      headers[MetadataHeaders.attempt],
      headers[MetadataHeaders.traceId],
      headers[MetadataHeaders.traceparent],
      headers[MetadataHeaders.tracestate],
    ),
  );
}

/** Validates untrusted metadata (from headers or a `meta` member); drops anything malformed. */
export function sanitizeMetadata(raw: unknown): WireMetadata {
  if (typeof raw !== 'object' || raw === null) return {};
  const source = raw as Record<string, unknown>;
  return sanitizedFields(
    source.deadlineMs,
    source.idempotent,
    source.attempt,
    source.traceId,
    source.traceparent,
    source.tracestate,
  );
}

/**
 * Whether `metadata` is what {@link metadataFromHeaders} or {@link metadataFromRecord} returned,
 * sanitised by the core already (the dispatcher does not sanitise it again). The mark is a private
 * class field: no other code can set or copy it (a spread, `structuredClone` or proxy of a marked
 * object is not marked) and no reader sees it. A marked object is trusted as it is: only the
 * listener that asked for it could change it afterwards.
 */
export function isSanitized(metadata: object): boolean {
  return Sanitized.has(metadata);
}

/** Its constructor returns the object it is given, so that a subclass's private field lands on it. */
class Returning {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the return override is what marks the object
    return target;
  }
}

class Sanitized extends Returning {
  readonly #sanitized = true;

  static mark(metadata: WireMetadata): WireMetadata {
    new Sanitized(metadata);
    return metadata;
  }

  static has(value: object): boolean {
    return #sanitized in value;
  }
}

/** The metadata of untrusted field values, its members in the order of {@link WireMetadata}. */
function sanitizedFields(
  deadlineMs: unknown,
  idempotent: unknown,
  attempt: unknown,
  traceId: unknown,
  traceparent: unknown,
  tracestate: unknown,
): WireMetadata {
  const result: WireMetadata = {};
  const deadline = toNumber(deadlineMs);
  if (deadline !== undefined && deadline >= 0) result.deadlineMs = deadline;
  if (idempotent === true || idempotent === '1' || idempotent === 'true') result.idempotent = true;
  const attemptNumber = toNumber(attempt);
  if (attemptNumber !== undefined && Number.isInteger(attemptNumber) && attemptNumber >= 1)
    result.attempt = attemptNumber;
  if (typeof traceId === 'string' && traceId.length > 0 && traceId.length <= MAX_TRACE_ID_LENGTH) {
    result.traceId = traceId;
  }
  // A tracestate without a valid traceparent is meaningless (W3C Trace Context, section 3.3).
  const parent = traceparent === undefined ? undefined : parseTraceparent(traceparent);
  if (parent !== undefined) {
    result.traceparent = parent;
    const state = parseTracestate(tracestate);
    if (state !== undefined) result.tracestate = state;
  }
  return result;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.length > 0 && value.length <= 20) {
    const digits = decimalDigits(value);
    if (digits !== undefined) return digits;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/**
 * `Number(value)` of a string of 1 to 15 decimal digits (a header's deadline or attempt), read
 * without the general conversion (exact: 15 digits stay below 2^53); `undefined` for any other.
 */
function decimalDigits(value: string): number | undefined {
  if (value.length > 15) return undefined;
  let result = 0;
  for (let index = 0; index < value.length; index++) {
    const digit = value.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return undefined;
    result = result * 10 + digit;
  }
  return result;
}
