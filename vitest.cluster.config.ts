import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The files that start a Redis Cluster of their own and break it (`*.cluster.test.ts`: a master killed
 * during a drain, a master lost with its replica). `npm run test:cluster` runs them after the other
 * cluster tests, one at a time, so that no other file shares their cluster or their CPU.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['apps/*/test/**/*.cluster.test.ts'],
    exclude: ['**/node_modules/**'],
    fileParallelism: false,
  },
});
