import type { FastifyPluginAsync } from 'fastify';
import { Cluster } from 'ioredis';
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

/**
 * On a Redis Cluster a PING reaches one node, which says nothing of the others. Queues sit in their own
 * slots and caps spread over every master, so every slot is needed: ready means each slot has a master
 * that answers. The slot map is read afresh, so a replica promoted after a failover counts at once.
 */
async function everySlotServed(cluster: Cluster): Promise<void> {
  await new Promise<void>((resolve, reject) => cluster.refreshSlotsCache((err) => (err ? reject(err) : resolve())));
  const masters = new Set<string>();
  for (let slot = 0; slot < 16384; slot++) {
    const master = cluster.slots[slot]?.[0];
    if (master === undefined) throw new Error(`slot ${slot} has no master`);
    masters.add(master);
  }
  const nodes = new Map(cluster.nodes('all').map((n) => [`${n.options.host}:${n.options.port}`, n]));
  await Promise.all(
    [...masters].map((key) => {
      const node = nodes.get(key);
      if (!node) throw new Error(`master ${key} is not connected`);
      return node.ping();
    }),
  );
}
const redisReady = (client: RedisClient) => (client instanceof Cluster ? everySlotServed(client) : client.ping());

export const healthRoutes: FastifyPluginAsync<HealthDeps> = async (app, deps) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const [postgres, redis] = await Promise.all([
      check(deps.prisma.$queryRaw`SELECT 1`),
      check(Promise.all([redisReady(deps.redis), redisReady(deps.queueRedis)])),
    ]);
    const ready = postgres === 'ok' && redis === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', postgres, redis });
  });
};
