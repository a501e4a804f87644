import type { FastifyPluginAsync } from 'fastify';
import type { PrismaClient } from '@smsq/shared';
import type { Redis } from 'ioredis';

export interface HealthDeps {
  prisma: PrismaClient;
  redis: Redis;
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

export const healthRoutes: FastifyPluginAsync<HealthDeps> = async (app, deps) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const [postgres, redis] = await Promise.all([
      within(deps.prisma.$queryRaw`SELECT 1`, 2000).then(
        () => 'ok',
        () => 'down',
      ),
      within(deps.redis.ping(), 2000).then(
        () => 'ok',
        () => 'down',
      ),
    ]);
    const ready = postgres === 'ok' && redis === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', postgres, redis });
  });
};
