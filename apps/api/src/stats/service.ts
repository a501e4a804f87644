import { Prisma, STATUS_ORDER, type MessageStatusName, type PrismaClient } from '@smsq/shared';
import type { StatsGroup, StatsResponse } from './schema.js';

type Figures = StatsResponse['totals'];

/**
 * What each grouping groups by. Days are UTC calendar days; the expression is grouped as a date and
 * only the (few) groups are turned into text.
 */
const GROUP_KEY: Record<StatsGroup, { select: Prisma.Sql; group: Prisma.Sql }> = {
  day: {
    select: Prisma.sql`((created_at AT TIME ZONE 'UTC')::date)::text`,
    group: Prisma.sql`(created_at AT TIME ZONE 'UTC')::date`,
  },
  category: { select: Prisma.sql`category::text`, group: Prisma.sql`category` },
  status: { select: Prisma.sql`status::text`, group: Prisma.sql`status` },
  country: { select: Prisma.sql`country`, group: Prisma.sql`country` },
};

interface StatsRow {
  key: string | null;
  status: MessageStatusName;
  unit: string | null;
  messages: number;
  segments: bigint;
  priced: number;
  cost: Prisma.Decimal | null;
}

/** Whose messages: one service's (every service's without one), live or test traffic. */
export interface StatsScope {
  service?: string;
  test: boolean;
}

/**
 * The one aggregate behind GET /v1/stats: a range scan on the (created_at, …) index, grouped by the key,
 * the status and the price unit. Twilio reports prices as negative charges, so cost is their absolute sum.
 */
export function statsQuery(since: Date, until: Date, groupBy: StatsGroup, scope: StatsScope): Prisma.Sql {
  const key = GROUP_KEY[groupBy];
  const service = scope.service ?? null;
  return Prisma.sql`
    SELECT ${key.select} AS key, status::text AS status, price_unit AS unit,
           count(*)::int AS messages, sum(segments)::bigint AS segments,
           count(price)::int AS priced, sum(abs(price)) AS cost
    FROM messages
    WHERE created_at >= ${since} AND created_at < ${until} AND test = ${scope.test}
      AND (${service}::text IS NULL OR api_key = ${service})
    GROUP BY ${key.group}, status, price_unit`;
}

const OUTCOMES: readonly MessageStatusName[] = ['delivered', 'undelivered', 'failed', 'expired'];

function emptyFigures(): Figures & { costs: Map<string, Prisma.Decimal> } {
  return {
    messages: 0,
    byStatus: Object.fromEntries(STATUS_ORDER.map((s) => [s, 0])) as Figures['byStatus'],
    deliveryRate: null,
    segments: 0,
    cost: {},
    priced: 0,
    costs: new Map(),
  };
}

function add(f: ReturnType<typeof emptyFigures>, row: StatsRow) {
  f.messages += row.messages;
  f.byStatus[row.status] += row.messages;
  f.segments += Number(row.segments);
  f.priced += row.priced;
  if (row.cost !== null && row.unit !== null) {
    f.costs.set(row.unit, (f.costs.get(row.unit) ?? new Prisma.Decimal(0)).plus(row.cost));
  }
}

function finish({ costs, ...f }: ReturnType<typeof emptyFigures>): Figures {
  const outcomes = OUTCOMES.reduce((n, s) => n + f.byStatus[s], 0);
  return {
    ...f,
    deliveryRate: outcomes === 0 ? null : Math.round((f.byStatus.delivered / outcomes) * 10_000) / 10_000,
    cost: Object.fromEntries([...costs].map(([unit, amount]) => [unit, amount.toFixed(5)])),
  };
}

export async function computeStats(
  prisma: PrismaClient,
  since: Date,
  until: Date,
  groupBy: StatsGroup,
  scope: StatsScope,
): Promise<StatsResponse> {
  const rows = await prisma.$queryRaw<StatsRow[]>(statsQuery(since, until, groupBy, scope));
  const totals = emptyFigures();
  const groups = new Map<string | null, ReturnType<typeof emptyFigures>>();
  for (const row of rows) {
    add(totals, row);
    let g = groups.get(row.key);
    if (!g) groups.set(row.key, (g = emptyFigures()));
    add(g, row);
  }
  const order = (k: string | null) => (groupBy === 'status' ? STATUS_ORDER.indexOf(k as MessageStatusName) : 0);
  return {
    since: since.toISOString(),
    until: until.toISOString(),
    groupBy,
    totals: finish(totals),
    groups: [...groups]
      .sort(([a], [b]) => order(a) - order(b) || (a === null ? 1 : b === null ? -1 : a.localeCompare(b)))
      .map(([key, g]) => ({ key, ...finish(g) })),
  };
}
