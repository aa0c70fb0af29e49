import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body, giving up as soon as more than `maxBytes` arrived (the rest is never
 * buffered): the bytes, `'too-large'`, or `'aborted'` when the request ended early. Never rejects.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (result: Buffer | 'too-large' | 'aborted') => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(result);
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
  });
}
