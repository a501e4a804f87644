import { redisServers } from './redis-servers.js';

/**
 * Deletes every key under a queue prefix (`<prefix>:*`), e.g. a finished load run's queues. On a cluster
 * (`clusterNodes`) every master is scanned, and each key unlinked on its own: one UNLINK may not span slots.
 */
export async function deleteKeysUnder(
  redisUrl: string,
  prefix: string,
  clusterNodes?: readonly string[],
): Promise<void> {
  const masters = (await redisServers(redisUrl, clusterNodes)).filter((s) => s.master);
  await Promise.all(
    masters.map(async (server) => {
      const redis = server.connect();
      try {
        for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1000 })) {
          const found = keys as string[];
          if (!found.length) continue;
          if (clusterNodes?.length) await Promise.all(found.map((k) => redis.unlink(k)));
          else await redis.unlink(...found);
        }
      } finally {
        redis.disconnect();
      }
    }),
  );
}
