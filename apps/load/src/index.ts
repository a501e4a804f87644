export { createFreshDatabase } from './fresh-database.js';
export { startLocalStack, type LocalStack } from './local-stack.js';
export { isOwnBody, runLoad, sendBatches, type LoadResult } from './load.js';
export { deleteKeysUnder } from './redis-keys.js';
export { RssSampler, mib } from './rss.js';
export { simStats, verifyWhenSettled, waitForDrain } from './simulator.js';
export { CpuMeter, type CpuTarget, type CpuUse } from './cpu.js';
export { postgresSessions, storeProcesses } from './store-processes.js';
export { connectPostgres } from './postgres-connect.js';
