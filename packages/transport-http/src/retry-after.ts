/**
 * Parses an HTTP `Retry-After` value (delta seconds or an HTTP date) into milliseconds from now.
 * Returns `undefined` for a missing or malformed value; never a negative number.
 */
export function parseRetryAfter(value: unknown, now: () => number = Date.now): number | undefined {
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  if (text.length === 0) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    return Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined;
  }
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now());
}
