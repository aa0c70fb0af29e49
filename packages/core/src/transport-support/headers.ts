/**
 * The headers of a node:http request (`req.headers`, names already lower case) as one string
 * each: a repeated header's values joined with `, `, absent ones left out. What `authenticate`
 * and `verifyUpgrade` hooks read as `credentials.headers` (HTTP and WebSocket listeners).
 */
export function flattenHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (typeof value === 'string') flat[name] = value;
    else if (value !== undefined) flat[name] = value.join(', ');
  }
  return flat;
}
