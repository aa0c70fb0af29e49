import { ErrorCodes, errorResponse } from '@resilient-rpc/core';

/**
 * The one answer the WebSocket listener builds itself: JSON-RPC travels in text frames, and a
 * binary frame is refused -32600 (the connection stays open). Everything else is the dispatcher's.
 */
export const BINARY_FRAME_REFUSED = JSON.stringify(
  errorResponse(null, ErrorCodes.InvalidRequest, 'Invalid Request', {
    reason: 'binary frames are not supported; send JSON-RPC as text frames',
  }),
);
