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
  return sanitizeMetadata({
    deadlineMs: get(MetadataHeaders.deadlineMs),
    idempotent: get(MetadataHeaders.idempotent),
    attempt: get(MetadataHeaders.attempt),
    traceId: get(MetadataHeaders.traceId),
    traceparent: get(MetadataHeaders.traceparent),
    tracestate: get(MetadataHeaders.tracestate),
  });
}

/** Validates untrusted metadata (from headers or a `meta` member); drops anything malformed. */
export function sanitizeMetadata(raw: unknown): WireMetadata {
  const result: WireMetadata = {};
  if (typeof raw !== 'object' || raw === null) return result;
  const source = raw as Record<string, unknown>;
  const deadline = toNumber(source.deadlineMs);
  if (deadline !== undefined && deadline >= 0) result.deadlineMs = deadline;
  const idempotent = source.idempotent;
  if (idempotent === true || idempotent === '1' || idempotent === 'true') result.idempotent = true;
  const attempt = toNumber(source.attempt);
  if (attempt !== undefined && Number.isInteger(attempt) && attempt >= 1) result.attempt = attempt;
  const traceId = source.traceId;
  if (typeof traceId === 'string' && traceId.length > 0 && traceId.length <= MAX_TRACE_ID_LENGTH) {
    result.traceId = traceId;
  }
  // A tracestate without a valid traceparent is meaningless (W3C Trace Context, section 3.3).
  const traceparent = parseTraceparent(source.traceparent);
  if (traceparent !== undefined) {
    result.traceparent = traceparent;
    const tracestate = parseTracestate(source.tracestate);
    if (tracestate !== undefined) result.tracestate = tracestate;
  }
  return result;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.length > 0 && value.length <= 20) {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}
