import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body, giving up as soon as more than `maxBytes` arrived (the rest is never
 * buffered), and calls `done` once with the bytes, `'too-large'`, or `'aborted'` when the request
 * ended early.
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
  done: (body: Buffer | 'too-large' | 'aborted') => void,
): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let settled = false;
  const finish = (result: Buffer | 'too-large' | 'aborted') => {
    if (settled) return;
    settled = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    done(result);
  };
  const onData = (chunk: Buffer) => {
    total += chunk.length;
    if (total <= maxBytes) chunks.push(chunk);
    else {
      chunks.length = 0;
      req.pause();
      finish('too-large');
    }
  };
  const onEnd = () => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
  const onClose = () => {
    if (!req.complete) finish('aborted');
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onClose);
  // Kept after settling: an 'error' on a request without listeners would be thrown.
  req.on('error', () => finish('aborted'));
}
