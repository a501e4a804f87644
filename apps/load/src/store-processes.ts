import type { CpuTarget } from './cpu.js';
import { connectPostgres } from './postgres-connect.js';
import { redisPids, redisServers } from './redis-servers.js';

/**
 * The processes that do a stack's storage work, for CPU accounting: the Postgres backends connected
 * to its database (named "postgres") and the Redis server, or with `clusterNodes` every node of the
 * cluster, replicas too (named "redis"; shared with whatever else uses that Redis). Both must run on
 * this machine for the figures to mean anything.
 */
export async function storeProcesses(
  databaseUrl: string,
  redisUrl: string,
  clusterNodes?: readonly string[],
): Promise<CpuTarget[]> {
  const [backends, redis] = await Promise.all([
    postgresBackends(databaseUrl),
    redisServers(redisUrl, clusterNodes).then(redisPids),
  ]);
  return [...backends.map((pid) => ({ name: 'postgres', pid })), ...redis.map((pid) => ({ name: 'redis', pid }))];
}

/**
 * The backends connected to the database, this query's own left out: every one (autovacuum's too), or
 * only those of client connections.
 */
export async function postgresBackends(databaseUrl: string, clientsOnly = false): Promise<number[]> {
  const client = await connectPostgres(databaseUrl);
  try {
    const { rows } = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()` +
        (clientsOnly ? ` AND backend_type = 'client backend'` : ''),
    );
    return rows.map((r) => r.pid);
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

export interface PostgresWrites {
  /** Transactions committed (every statement outside a transaction is one, reads too). */
  commits: number;
  /** Rows inserted, updated and deleted. */
  rows: number;
}

/**
 * The database's commits and rows written so far (pg_stat_database). A backend reports these when a
 * transaction ends at most once a second, and an idle one within 10 s (PostgreSQL 15's
 * PGSTAT_IDLE_INTERVAL), or when it exits: read them once the backends have exited or been idle that
 * long. Reading costs one commit of its own, reported when this connection ends.
 */
export async function postgresWrites(databaseUrl: string): Promise<PostgresWrites> {
  const client = await connectPostgres(databaseUrl);
  try {
    const { rows } = await client.query<{ commits: string; rows: string }>(
      `SELECT xact_commit AS commits, tup_inserted + tup_updated + tup_deleted AS rows
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    return { commits: Number(rows[0]?.commits ?? 0), rows: Number(rows[0]?.rows ?? 0) };
  } finally {
    await client.end();
  }
}

/**
 * Waits until no client backend but those in `keep` is connected to the database, then half a second more:
 * a backend leaves pg_stat_activity just before it reports its last statistics on the way out.
 */
export async function waitForBackendsGone(databaseUrl: string, keep: readonly number[] = []): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await postgresBackends(databaseUrl, true)).every((pid) => keep.includes(pid))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
}

/**
 * Waits until the database's client backends have reported their statistics (see postgresWrites): each
 * one gone or idle for longer than PostgreSQL 15's PGSTAT_IDLE_INTERVAL (10 s), at most `timeoutMs`.
 */
export async function waitForStatsReported(databaseUrl: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = await connectPostgres(databaseUrl);
    let waitMs: number;
    try {
      const { rows } = await client.query<{ wait_ms: number | null }>(
        `SELECT max(CASE WHEN state = 'idle' THEN 10300 - extract(epoch FROM now() - state_change) * 1000
                         ELSE 1000 END)::int AS wait_ms
           FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
      waitMs = rows[0]?.wait_ms ?? 0;
    } finally {
      await client.end();
    }
    if (waitMs <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(waitMs, Math.max(0, deadline - Date.now()))));
  }
}
