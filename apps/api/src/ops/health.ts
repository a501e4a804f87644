import type { FastifyPluginAsync } from 'fastify';
import { within, type PrismaClient } from '@smsq/shared';
import type { RedisClient } from '@smsq/shared';

export interface HealthDeps {
  prisma: PrismaClient;
  /** The API's own commands (caps, rate limits). */
  redis: RedisClient;
  /** Every enqueue goes through the queues' own connection. */
  queueRedis: RedisClient;
}

const CHECK_TIMEOUT_MS = 2000;
const check = (p: Promise<unknown>) =>
  within(p, CHECK_TIMEOUT_MS, () => new Error('timeout')).then(
    () => 'ok',
    () => 'down',
  );

export const healthRoutes: FastifyPluginAsync<HealthDeps> = async (app, deps) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const [postgres, redis] = await Promise.all([
      check(deps.prisma.$queryRaw`SELECT 1`),
      check(Promise.all([deps.redis.ping(), deps.queueRedis.ping()])),
    ]);
    const ready = postgres === 'ok' && redis === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', postgres, redis });
  });
};
