import { Redis } from 'ioredis';

/**
 * REDIS_CLUSTER_NODES as the API and worker read it (`host:port,host:port,…`), or undefined when it is
 * unset or empty (a single Redis at REDIS_URL).
 */
export function clusterNodesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const nodes = (env.REDIS_CLUSTER_NODES ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return nodes.length ? nodes : undefined;
}

/** One Redis server process: the single Redis, or one node of a cluster. */
export interface RedisServer {
  /** host:port, or the URL of a single Redis. */
  address: string;
  /** A master serves its slots' commands; a replica only replays them. A single Redis is a master. */
  master: boolean;
  connect(): Redis;
}

const hostPort = (address: string) => {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
};
const connectTo = (address: string) => new Redis({ ...hostPort(address), maxRetriesPerRequest: 1 });

/**
 * The server processes behind REDIS_URL, or with cluster seeds every node of that cluster (from CLUSTER
 * NODES on the first seed that answers; nodes marked failed or without an address are left out).
 */
export async function redisServers(redisUrl: string, clusterNodes?: readonly string[]): Promise<RedisServer[]> {
  if (!clusterNodes?.length) {
    return [{ address: redisUrl, master: true, connect: () => new Redis(redisUrl, { maxRetriesPerRequest: 1 }) }];
  }
  let lastError: unknown;
  for (const seed of clusterNodes) {
    const redis = connectTo(seed);
    redis.on('error', () => undefined);
    try {
      const table = (await redis.cluster('NODES')) as string;
      return table
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' '))
        .filter(([, , flags]) => !/fail|noaddr|handshake/.test(flags ?? ''))
        .map(([, addr, flags]) => {
          const address = addr!.split('@')[0]!;
          return { address, master: (flags ?? '').split(',').includes('master'), connect: () => connectTo(address) };
        });
    } catch (err) {
      lastError = err;
    } finally {
      redis.disconnect();
    }
  }
  throw new Error(`no cluster node answered CLUSTER NODES (${clusterNodes.join(', ')})`, { cause: lastError });
}

async function onEach<T>(servers: readonly RedisServer[], fn: (r: Redis) => Promise<T>): Promise<T[]> {
  return Promise.all(
    servers.map(async (s) => {
      const redis = s.connect();
      try {
        return await fn(redis);
      } finally {
        redis.disconnect();
      }
    }),
  );
}

/** Each server's process id (INFO server), for CPU accounting: they must run on this machine. */
export async function redisPids(servers: readonly RedisServer[]): Promise<number[]> {
  const pids = await onEach(servers, async (r) => Number(/process_id:(\d+)/.exec(await r.info('server'))?.[1]));
  return pids.filter((p) => Number.isFinite(p));
}

export interface RedisCommandCounts {
  /** Commands executed, those that scripts run included (INFO commandstats counts both). */
  commands: number;
  /** Of them, script calls (EVAL, EVALSHA, FCALL and their read-only forms): BullMQ's and smsq's Lua. */
  scripts: number;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** INFO commandstats summed over the masters (a replica's count would repeat its master's writes). */
export async function redisCommandCounts(servers: readonly RedisServer[]): Promise<RedisCommandCounts> {
  const stats = await onEach(
    servers.filter((s) => s.master),
    (r) => r.info('commandstats'),
  );
  const counts = { commands: 0, scripts: 0 };
  for (const text of stats) {
    for (const [, name, calls] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      counts.commands += Number(calls);
      if (SCRIPT_COMMANDS.has(name!)) counts.scripts += Number(calls);
    }
  }
  return counts;
}

/** "Redis 7.0.15" or "Redis Cluster (3 masters), Redis 7.0.15": what the figures were measured on. */
export async function describeRedis(servers: readonly RedisServer[], cluster: boolean): Promise<string> {
  const [info] = await onEach(servers.slice(0, 1), (r) => r.info('server'));
  const version = /redis_version:(\S+)/.exec(info ?? '')?.[1] ?? '?';
  if (!cluster) return `Redis ${version}`;
  const masters = servers.filter((s) => s.master).length;
  return `Redis Cluster (${masters} masters, ${servers.length - masters} replicas), Redis ${version}`;
}
