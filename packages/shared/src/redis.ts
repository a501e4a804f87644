import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** `host:port` (a REDIS_CLUSTER_NODES entry) → ioredis's address; the port is after the last colon. */
function hostPort(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

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
    return new Cluster(clusterNodes.map(hostPort), {
      redisOptions: options,
      enableAutoPipelining: autoPipelining,
      enableReadyCheck: true,
      // A list of this client's own, which defineLuaCommands adds its scripts to (the default is shared).
      autoPipeliningIgnoredCommands: [],
    });
  }
  return new Redis(url, { ...options, enableAutoPipelining: autoPipelining });
}

/**
 * For entry points, at start, with REDIS_CLUSTER_NODES set: a process that cannot reach its cluster (after
 * a few seconds of retries, for a cluster starting beside it), or was pointed at a plain Redis, has a
 * wrong setting rather than a passing outage: it ends with one line naming the variable (exit 78) instead
 * of retrying for ever.
 */
export async function exitUnlessClusterAnswers(nodes: readonly string[] | undefined): Promise<void> {
  if (!nodes?.length) return;
  const problem = await clusterSeedProblem(nodes);
  if (problem === undefined) return;
  process.stderr.write(`smsq: invalid configuration: ${problem}\n`);
  process.exit(78);
}

/** The line naming what is wrong with the seeds, or undefined when one answered as a ready cluster node. */
async function clusterSeedProblem(
  nodes: readonly string[],
  opts: { attempts?: number; retryDelayMs?: number } = {},
): Promise<string | undefined> {
  const attempts = opts.attempts ?? 5;
  let problem = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    for (const node of nodes) {
      const probe = new Redis({
        ...hostPort(node),
        lazyConnect: true,
        connectTimeout: 2_000,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        const info = await probe.cluster('INFO');
        if (/cluster_state:ok/.test(info)) return undefined;
        problem = `REDIS_CLUSTER_NODES: ${node} answered, but its cluster is not ready (cluster_state is not ok)`;
      } catch (err) {
        const message = (err as Error).message;
        if (/cluster support disabled/i.test(message)) {
          // A plain Redis does not turn into a cluster by waiting.
          return `REDIS_CLUSTER_NODES: ${node} is a Redis without cluster mode; unset REDIS_CLUSTER_NODES to use REDIS_URL`;
        }
        problem ||= `REDIS_CLUSTER_NODES: no node answered (${nodes.join(', ')})`;
      } finally {
        probe.disconnect();
      }
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 1_000));
  }
  return problem;
}
