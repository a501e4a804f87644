import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A connection to a single Redis or to a Redis Cluster: every caller takes either. */
export type RedisClient = Redis | Cluster;

/**
 * - `worker`: BullMQ workers block on Redis and must keep retrying (BullMQ requires maxRetriesPerRequest: null).
 * - `producer`: the API answers callers and must fail fast instead, so an outage becomes a 503 rather
 *   than a hung request.
 * - `commands`: the API's own counters and scripts (caps, rate limits), issued by many requests at once:
 *   fail fast, and auto-pipelined, so the commands of one event-loop turn leave in one write. Not for
 *   BullMQ, whose connections are reported to misbehave with auto-pipelining.
 *
 * With `clusterNodes` (REDIS_CLUSTER_NODES) the connection is an ioredis Cluster seeded with those
 * nodes; every script keeps its keys under one {hash tag}, so each call stays in one slot.
 */
export function createRedis(
  url: string,
  role: 'worker' | 'producer' | 'commands',
  clusterNodes?: readonly string[],
): RedisClient {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, connectTimeout: 2_000 };
  const autoPipelining = role === 'commands';
  if (clusterNodes && clusterNodes.length > 0) {
    return new Cluster(
      clusterNodes.map((n) => {
        const at = n.lastIndexOf(':');
        return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
      }),
      { redisOptions: options, enableAutoPipelining: autoPipelining, enableReadyCheck: true },
    );
  }
  return new Redis(url, { ...options, enableAutoPipelining: autoPipelining });
}
