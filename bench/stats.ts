// GET /v1/stats on a big table: seeds a scratch database with STATS_BENCH_ROWS messages (default 1,000,000)
// spread over STATS_BENCH_SPAN_DAYS (default 90), then times the stats query for the last 30 days and
// prints its EXPLAIN ANALYZE.
//   npx tsx bench/stats.ts          (DATABASE_URL names the server; a scratch database `smsq_bench_stats_…`
//                                    is created there and dropped at the end)
import pg from 'pg';
import { Prisma, createPrisma } from '@smsq/shared';
import { computeStats, statsQuery } from '../apps/api/src/stats/service.js';
import type { StatsGroup } from '../apps/api/src/stats/schema.js';
import { createFreshDatabase } from '../apps/load/src/fresh-database.js';

const ROWS = Number(process.env.STATS_BENCH_ROWS ?? 1_000_000);
const SPAN_DAYS = Number(process.env.STATS_BENCH_SPAN_DAYS ?? 90);
const WINDOW_DAYS = 30;
const RUNS = 5;
const base = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/smsq';

/** Rows in time order (as the API writes them) with a realistic mix of outcomes, categories and countries. */
const SEED = `
  INSERT INTO messages (id, status, "to", country, body, category, segments, encoding, price, price_unit,
                        created_at, updated_at, expires_at)
  SELECT gen_random_uuid(), s.status::"MessageStatus", '+1415555' || lpad((s.i % 10000)::text, 4, '0'),
         (ARRAY['US','US','US','GB','CA','DE','IN',NULL])[1 + s.i % 8], 'bench',
         (ARRAY['otp','security','transaction','account','marketing'])[1 + s.i % 5]::"Category",
         s.segments, 'GSM-7',
         CASE WHEN s.status IN ('delivered','undelivered') THEN -0.0079 * s.segments END,
         CASE WHEN s.status IN ('delivered','undelivered') THEN 'USD' END,
         s.t, s.t, s.t + interval '4 hours'
  FROM (
    SELECT i, 1 + (i % 7 = 0)::int + (i % 31 = 0)::int AS segments,
           now() - interval '${SPAN_DAYS} days' + i * (interval '${SPAN_DAYS} days' / $1) AS t,
           CASE WHEN r < 0.85 THEN 'delivered' WHEN r < 0.90 THEN 'sent' WHEN r < 0.93 THEN 'undelivered'
                WHEN r < 0.96 THEN 'failed' WHEN r < 0.97 THEN 'expired' WHEN r < 0.98 THEN 'canceled'
                WHEN r < 0.99 THEN 'submitted' ELSE 'queued' END AS status
    FROM (SELECT i, random() AS r FROM generate_series(1, $1::int) i) g
  ) s`;

async function main() {
  const scratch = await createFreshDatabase(base, 'smsq_bench_stats');
  const url = scratch.url;
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  let t = performance.now();
  await db.query(SEED, [ROWS]);
  await db.query('VACUUM ANALYZE messages');
  console.log(`seeded ${ROWS} messages over ${SPAN_DAYS} days in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await db.end();

  const prisma = createPrisma(url, 2);
  const until = new Date();
  const since = new Date(until.getTime() - WINDOW_DAYS * 86_400_000);
  for (const groupBy of ['day', 'category', 'status', 'country'] satisfies StatsGroup[]) {
    await computeStats(prisma, since, until, groupBy, { test: false }); // warm the cache and the connection
    const ms: number[] = [];
    let result;
    for (let i = 0; i < RUNS; i++) {
      t = performance.now();
      result = await computeStats(prisma, since, until, groupBy, { test: false });
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    console.log(
      `groupBy=${groupBy}: ${result!.totals.messages} messages in ${result!.groups.length} groups; ` +
        `median ${ms[RUNS >> 1]!.toFixed(0)} ms, min ${ms[0]!.toFixed(0)} ms, max ${ms.at(-1)!.toFixed(0)} ms (${RUNS} runs)`,
    );
  }
  const plan = await prisma.$queryRaw<{ 'QUERY PLAN': string }[]>(
    Prisma.sql`EXPLAIN (ANALYZE, BUFFERS) ${statsQuery(since, until, 'day', { test: false })}`,
  );
  console.log(`\nEXPLAIN ANALYZE, ${WINDOW_DAYS} days by day:\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
  await prisma.$disconnect();
  await scratch.drop();
}

await main();
