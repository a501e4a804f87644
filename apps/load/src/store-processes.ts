import { Redis } from 'ioredis';
import type { CpuTarget } from './cpu.js';
import { connectPostgres } from './postgres-connect.js';

/**
 * The processes that do a stack's storage work, for CPU accounting: the Postgres backends connected
 * to its database (named "postgres") and the Redis server (named "redis"; shared with whatever else
 * uses that Redis). Both must run on this machine for the figures to mean anything.
 */
export async function storeProcesses(databaseUrl: string, redisUrl: string): Promise<CpuTarget[]> {
  const client = await connectPostgres(databaseUrl);
  try {
    const { rows } = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
    redis.disconnect();
    return [
      ...rows.map((r) => ({ name: 'postgres', pid: r.pid })),
      ...(Number.isFinite(redisPid) ? [{ name: 'redis', pid: redisPid }] : []),
    ];
  } finally {
    await client.end();
  }
}

/** Connections ever opened to the database (Postgres counts them): a pool that churns shows here. */
export async function postgresSessions(databaseUrl: string): Promise<number> {
  const client = await connectPostgres(databaseUrl);
  try {
    const { rows } = await client.query<{ sessions: string }>(
      'SELECT sessions FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(rows[0]?.sessions ?? 0);
  } finally {
    await client.end();
  }
}
