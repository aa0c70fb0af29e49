import { describe, it } from 'vitest';
import { checkInvariants, runQuick } from './helpers.js';

describe('demo end to end over WebSocket and NATS (same client and service code)', () => {
  it('ws: keeps its invariants with the quick scenario', async () => {
    const { report } = await runQuick('ws');
    checkInvariants(report, 'ws');
  }, 150_000);

  it('nats: starts its own nats-server and keeps its invariants with the quick scenario', async () => {
    const { report } = await runQuick('nats');
    checkInvariants(report, 'nats');
  }, 150_000);
});
