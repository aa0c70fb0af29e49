import { connect } from '@nats-io/transport-node';
import { requireNatsServer, startNatsServer } from '@resilient-rpc/testkit';
import { describe, expect, it } from 'vitest';

describe('nats-server test helpers', () => {
  it('finds the nats-server binary on PATH', () => {
    expect(requireNatsServer()).toMatch(/nats-server$/);
  });

  it('fails with a clear error naming the Debian package when the binary is missing', () => {
    expect(() => requireNatsServer('/nonexistent-dir:/also-missing')).toThrowError(
      /nats-server.*not found.*Debian package "nats-server"/s,
    );
  });

  it('starts a broker on a free port and restarts it on the same port', async () => {
    const broker = await startNatsServer();
    try {
      expect(broker.port).toBeGreaterThan(0);
      expect(broker.port).not.toBe(4222);
      const nc = await connect({ servers: broker.url });
      await nc.flush();
      await nc.close();
      await broker.restart();
      const again = await connect({ servers: broker.url });
      await again.close();
    } finally {
      await broker.kill();
    }
  });
});
