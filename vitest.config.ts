import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the
// `@resilient-rpc/source` export condition, so tests never run against a stale dist/.
const conditions = ['@resilient-rpc/source'];

const project = (name: string, root: string, extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: { name, root, include: ['test/**/*.test.ts'], ...extra },
});

export default defineConfig({
  test: {
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and child processes; a 2-core machine
    // stays responsive with a small pool.
    maxWorkers: 2,
    projects: [
      project('core', 'packages/core'),
      project('transport-http', 'packages/transport-http'),
      project('transport-ws', 'packages/transport-ws'),
      project('transport-nats', 'packages/transport-nats'),
      project('opentelemetry', 'packages/opentelemetry'),
      project('demo', 'apps/demo'),
    ],
  },
});
