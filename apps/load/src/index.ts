export { createFreshDatabase, type FreshDatabase } from './fresh-database.js';
export { startLocalStack, type LocalStack, type LocalStackOptions, type StackProcess } from './local-stack.js';
export { isOwnBody, routeExists, runLoad, sendBatches, type LoadOptions, type LoadResult, type Mode } from './load.js';
export { deleteKeysUnder } from './redis-keys.js';
export { RssSampler, mib, rssOf } from './rss.js';
export {
  simStats,
  verifyWhenSettled,
  waitForDrain,
  type Drain,
  type SimStats,
  type Verification,
} from './simulator.js';
export { summarize as summarizeProfile } from './profile-summary.js';
export { CpuMeter, type CpuTarget, type CpuUse } from './cpu.js';
export { postgresSessions, storeProcesses } from './store-processes.js';
export { connectPostgres } from './postgres-connect.js';
