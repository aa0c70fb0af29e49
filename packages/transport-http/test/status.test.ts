import { ErrorCodes, type JsonRpcResponse } from '@resilient-rpc/core';
import { describe, expect, it } from 'vitest';
import { statusFor } from '../src/index.js';

const errorWith = (code: number): JsonRpcResponse => ({
  jsonrpc: '2.0',
  id: 1,
  error: { code, message: 'x' },
});

describe('statusFor', () => {
  it("maps a single error response to the HTTP status of the dispatcher's status", () => {
    const expected: [number, number][] = [
      [ErrorCodes.ParseError, 400],
      [ErrorCodes.InvalidRequest, 400],
      [ErrorCodes.Unauthenticated, 401],
      [ErrorCodes.Forbidden, 403],
      [ErrorCodes.MessageTooLarge, 413],
      [ErrorCodes.BatchTooLarge, 413],
      [ErrorCodes.Overloaded, 503],
      [ErrorCodes.Draining, 503],
      [ErrorCodes.MethodNotFound, 200],
      [ErrorCodes.DeadlineExceeded, 200],
      [-1, 200],
    ];
    for (const [code, status] of expected) expect([code, statusFor(errorWith(code))]).toEqual([code, status]);
  });

  it('answers 200 for a result and for any batch, even of errors', () => {
    expect(statusFor({ jsonrpc: '2.0', id: 1, result: null })).toBe(200);
    expect(statusFor([errorWith(ErrorCodes.Overloaded)])).toBe(200);
  });
});
