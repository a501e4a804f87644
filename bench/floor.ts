// The intake floor: the least a durable enqueue needs, with the libraries smsq uses. Per message one
// Postgres INSERT of the fields smsq stores (pg, the driver under Prisma's adapter) into a table with only
// a primary key (FLOOR_TABLE: the indexes of smsq's `messages` are smsq's cost, not the floor's) and one
// BullMQ `add` of its id (same queue options), 64 messages in flight. No HTTP, no validation, no policy,
// no event row.
//   tsx bench/floor.ts [seconds]   (REDIS_URL / DATABASE_URL / REDIS_CLUSTER_NODES; uses a fresh database
//                                  and queue prefix)
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { CATEGORY_PRIORITY, createQueues, createRedis, newMessageId } from '@smsq/shared';
import { clusterNodesFromEnv, createFreshDatabase, deleteKeysUnder } from '@smsq/load';

export interface FloorOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Seeds of a Redis Cluster (REDIS_CLUSTER_NODES), when smsq is measured on one. */
  redisClusterNodes?: readonly string[];
  queuePrefix: string;
  seconds: number;
  inFlight?: number;
  /** Postgres connections; smsq's API uses a pool of 10. */
  poolSize?: number;
  /** Called when the timed part is over, before the connections close. */
  beforeClose?: () => Promise<void>;
}

export interface FloorResult {
  messages: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * The floors' table (intake and drain): a message's fields and status, and no index but the primary key.
 * `rank` orders the statuses (queued 0, submitted 1, sent 2, final 3) for the drain floor's monotonic
 * updates.
 */
export const FLOOR_TABLE = `CREATE TABLE IF NOT EXISTS floor_messages (
  id uuid PRIMARY KEY,
  "to" text NOT NULL,
  body text NOT NULL,
  category text,
  segments int,
  encoding text,
  api_key text,
  country text,
  status text NOT NULL DEFAULT 'queued',
  rank smallint NOT NULL DEFAULT 0,
  twilio_sid text,
  created_at timestamptz,
  updated_at timestamptz,
  expires_at timestamptz
)`;

const INSERT = `INSERT INTO floor_messages (id, "to", body, category, segments, encoding, api_key, country, created_at, updated_at, expires_at)
  VALUES ($1, $2, $3, 'transaction', 1, 'GSM-7', 'floor', 'US', $4, $4, $5)`;

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;

export async function runFloor(opts: FloorOptions): Promise<FloorResult> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
  const redis = createRedis(opts.redisUrl, 'producer', opts.redisClusterNodes);
  const queues = createQueues(redis, opts.queuePrefix);
  await queues.send.waitUntilReady();
  await pool.query(FLOOR_TABLE);
  const latencies: number[] = [];
  let n = 0;
  const started = performance.now();
  const until = started + opts.seconds * 1000;
  let ended = until;
  async function lane() {
    while (performance.now() < until) {
      const t0 = performance.now();
      const id = newMessageId();
      const now = new Date();
      await pool.query(INSERT, [
        id,
        `+1415${2_000_000 + (n++ % 8_000_000)}`,
        `floor ${n}`,
        now,
        new Date(+now + 4 * 3600_000),
      ]);
      await queues.send.add('send', { messageId: id }, { jobId: id, priority: CATEGORY_PRIORITY.transaction });
      latencies.push(performance.now() - t0);
    }
  }
  try {
    await Promise.all(Array.from({ length: opts.inFlight ?? 64 }, lane));
    ended = performance.now();
    await opts.beforeClose?.();
  } finally {
    await queues.close();
    redis.disconnect();
    await pool.end();
  }
  const seconds = (ended - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    messages: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.argv[2] ?? 10);
  const db = await createFreshDatabase(
    process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/smsq',
    'smsq_floor',
  );
  const queuePrefix = `floor${randomBytes(4).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisClusterNodes = clusterNodesFromEnv();
  try {
    const r = await runFloor({ databaseUrl: db.url, redisUrl, redisClusterNodes, queuePrefix, seconds });
    console.log(
      `floor: ${r.messages} messages in ${r.seconds.toFixed(1)} s = ${r.perSecond.toFixed(0)}/s (p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms per message)`,
    );
  } finally {
    await deleteKeysUnder(redisUrl, queuePrefix, redisClusterNodes);
    await db.drop();
  }
}
