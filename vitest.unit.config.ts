import { defineConfig } from 'vitest/config';

/**
 * The pure rules only (`npm run test:unit`): no globalSetup, so neither Redis nor Postgres is needed.
 * `npm test` (vitest.config.ts) still runs these files too, as its include pattern matches them.
 * A `*.unit.test.ts` file must not call `inject()`: nothing is provided here.
 */
export default defineConfig({
  test: {
    include: ['apps/*/test/**/*.unit.test.ts', 'packages/*/test/**/*.unit.test.ts'],
    pool: 'threads',
    maxWorkers: 2,
    testTimeout: 5_000,
  },
});
