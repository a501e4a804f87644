import { createPrisma, createQueues, createRedis, type Config, type PrismaClient, type Queues } from '@smsq/shared';
import type { Redis } from 'ioredis';

export interface ApiDeps {
  config: Config;
  prisma: PrismaClient;
  redis: Redis;
  queues: Queues;
  close(): Promise<void>;
}

/** The API's connections: a fail-fast Redis client, so an outage becomes a 503 instead of a hang. */
export function createApiDeps(config: Config): ApiDeps {
  const prisma = createPrisma(config.databaseUrl);
  const redis = createRedis(config.redisUrl, 'producer');
  const queues = createQueues(redis, config.queuePrefix, config.sendMaxAttempts);
  return {
    config,
    prisma,
    redis,
    queues,
    async close() {
      await queues.close();
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}
