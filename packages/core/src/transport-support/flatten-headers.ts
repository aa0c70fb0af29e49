/**
 * Request headers as `credentials.headers` carries them (`IncomingCredentials`): one string per
 * name, a repeated header's values joined with `, `, names as given (node:http gives them in
 * lower case).
 */
export function flattenHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (typeof value === 'string') result[name] = value;
    else if (Array.isArray(value)) result[name] = value.join(', ');
  }
  return result;
}
