import {
  ConnectionLostError,
  FAILURE_KINDS,
  metadataFromHeaders,
  metadataToHeaders,
  NotSentError,
  ProtocolError,
  parseResponseText,
  RpcError,
  retriesExhausted,
  sanitizeMetadata,
  TimeoutError,
  toRpcError,
  validateRequest,
} from '@resilient-rpc/core';
import { describe, expect, it } from 'vitest';

describe('errors', () => {
  it('recognises an RpcError by its marker, even from another copy of the package', () => {
    const foreign = Object.assign(Object.create(Error.prototype), {
      [Symbol.for('resilient-rpc.error')]: true,
      kind: 'timeout',
    });
    expect(RpcError.isInstance(foreign)).toBe(true);
    expect(RpcError.isInstance(new Error('x'))).toBe(false);
    expect(RpcError.isInstance(null)).toBe(false);
  });

  it('marks only not-sent and rejected as retryable by default', () => {
    const retryable = FAILURE_KINDS.filter((kind) => new RpcError(kind, 'x').retryable);
    expect(retryable).toEqual(['not-sent', 'rejected']);
    expect(new RpcError('remote', 'x', { retryable: true }).retryable).toBe(true);
  });

  it('keeps the original error as the cause', () => {
    const original = new Error('ECONNRESET');
    expect(new ConnectionLostError('lost', { cause: original }).cause).toBe(original);
    expect(toRpcError(original, 'connection-lost').cause).toBe(original);
    const already = new NotSentError('refused');
    expect(toRpcError(already)).toBe(already);
  });

  it('carries every attempt in a retries-exhausted error and takes the last kind and class', () => {
    const attempts = [new NotSentError('a'), new TimeoutError('deadline of 2000 ms exceeded')];
    const error = retriesExhausted(attempts);
    expect(error.attempts).toEqual(attempts);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.kind).toBe('timeout');
    expect(error.cause).toBe(attempts[1]);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('the call failed after 2 attempts: deadline of 2000 ms exceeded');
  });
});

describe('protocol', () => {
  it('parses a response or a batch and rejects anything else as a protocol error', () => {
    expect(parseResponseText('{"jsonrpc":"2.0","id":1,"result":null}')).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: null,
    });
    expect(parseResponseText('[{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m"}}]')).toHaveLength(1);
    for (const bad of [
      '<html>',
      '{}',
      '{"jsonrpc":"2.0","id":1}',
      '{"jsonrpc":"2.0","id":1,"result":1,"error":{}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}',
    ]) {
      expect(() => parseResponseText(bad), bad).toThrow(ProtocolError);
    }
  });

  it('keeps the id of an invalid request when it can be read', () => {
    const result = validateRequest({ jsonrpc: '1.0', method: 'x', id: 'abc' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.response.id).toBe('abc');
  });

  it('round-trips metadata through headers and drops malformed values', () => {
    const headers = new Map<string, string>();
    metadataToHeaders({ deadlineMs: 1234.7, idempotent: true, attempt: 2, traceId: 't-1' }, (name, value) =>
      headers.set(name, value),
    );
    expect(Object.fromEntries(headers)).toEqual({
      'rpc-deadline-ms': '1234',
      'rpc-idempotent': '1',
      'rpc-attempt': '2',
      'rpc-trace-id': 't-1',
    });
    expect(metadataFromHeaders((name) => headers.get(name))).toEqual({
      deadlineMs: 1234,
      idempotent: true,
      attempt: 2,
      traceId: 't-1',
    });
    expect(
      sanitizeMetadata({ deadlineMs: 'soon', attempt: -1, idempotent: 'yes', traceId: 'x'.repeat(500) }),
    ).toEqual({});
    expect(sanitizeMetadata('junk')).toEqual({});
  });
});
