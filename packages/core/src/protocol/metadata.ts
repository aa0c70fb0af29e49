import type { WireMetadata } from './types.js';

/** Header names used by header-carrying transports (HTTP, NATS). Lower case. */
export const MetadataHeaders = {
  deadlineMs: 'rpc-deadline-ms',
  idempotent: 'rpc-idempotent',
  attempt: 'rpc-attempt',
  traceId: 'rpc-trace-id',
} as const;

const MAX_TRACE_ID_LENGTH = 128;

/** Writes metadata as header pairs (values are strings); absent fields are skipped. */
export function metadataToHeaders(metadata: WireMetadata, set: (name: string, value: string) => void): void {
  if (metadata.deadlineMs !== undefined)
    set(MetadataHeaders.deadlineMs, String(Math.max(0, Math.floor(metadata.deadlineMs))));
  if (metadata.idempotent) set(MetadataHeaders.idempotent, '1');
  if (metadata.attempt !== undefined) set(MetadataHeaders.attempt, String(metadata.attempt));
  if (metadata.traceId !== undefined) set(MetadataHeaders.traceId, metadata.traceId);
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
