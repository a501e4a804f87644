import {
  MessageSealer,
  createPrisma,
  createQueues,
  createRedis,
  type Config,
  type PrismaClient,
  type Queues,
} from '@smsq/shared';
import type { RedisClient } from '@smsq/shared';
import { KeyRegistry } from './access/key-registry.js';
import { DailyBudget } from './caps/daily-budget.js';
import { OptOutLookup } from './messages/admit.js';
import { MessageRecorder } from './messages/record.js';

export interface ApiDeps {
  config: Config;
  prisma: PrismaClient;
  /** The API's own commands (caps, rate limits): auto-pipelined. */
  redis: RedisClient;
  /** BullMQ's connection, under `queues`. */
  queueRedis: RedisClient;
  queues: Queues;
  optOuts: OptOutLookup;
  /** Every API key and service, in memory (reloaded every few seconds). */
  keys: KeyRegistry;
  /** Each service's daily segment budget, in Redis. */
  budget: DailyBudget;
  recorder: MessageRecorder;
  close(): Promise<void>;
}

/** The API's connections: fail-fast Redis clients, so an outage becomes a 503 instead of a hang. */
export function createApiDeps(config: Config): ApiDeps {
  const prisma = createPrisma(config.databaseUrl);
  const redis = createRedis(config.redisUrl, 'commands', config.redisClusterNodes);
  const queueRedis = createRedis(config.redisUrl, 'producer', config.redisClusterNodes);
  const queues = createQueues(queueRedis, config.queuePrefix, config.sendMaxAttempts);
  return {
    config,
    prisma,
    redis,
    queueRedis,
    queues,
    optOuts: new OptOutLookup(prisma),
    keys: new KeyRegistry(prisma, config.apiKeys),
    budget: new DailyBudget(redis, config.queuePrefix),
    // Seals an OTP's text with its code while it waits to be sent (the worker opens it).
    recorder: new MessageRecorder(prisma, queues, new MessageSealer(config.otpSecret)),
    async close() {
      this.keys.stop();
      await queues.close();
      redis.disconnect();
      queueRedis.disconnect();
      await prisma.$disconnect();
    },
  };
}
