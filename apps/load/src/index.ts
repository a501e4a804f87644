export { createFreshDatabase } from './fresh-database.js';
export { startLocalStack, startSimulator, type LocalStack } from './local-stack.js';
export { isOwnBody, runLoad, sendBatches, type LoadResult } from './load.js';
export { deleteKeysUnder } from './redis-keys.js';
export { clusterNodesFromEnv, describeRedis, redisCommandCounts, redisPids, redisServers } from './redis-servers.js';
export { RssSampler, mib } from './rss.js';
export { simStats, verifyWhenSettled, waitForDrain, type Drain } from './simulator.js';
export { CpuMeter, type CpuTarget, type CpuUse } from './cpu.js';
export {
  postgresBackends,
  postgresSessions,
  postgresWrites,
  storeProcesses,
  waitForBackendsGone,
  waitForStatsReported,
} from './store-processes.js';
export { connectPostgres } from './postgres-connect.js';
