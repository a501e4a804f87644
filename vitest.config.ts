import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['apps/*/test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Files that break a Redis Cluster of their own run alone, in `npm run test:cluster`.
    exclude: ['**/node_modules/**', '**/*.cluster.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share one Postgres server and one Redis; each file gets its own database and queue prefix.
    fileParallelism: true,
    pool: 'forks',
  },
});
