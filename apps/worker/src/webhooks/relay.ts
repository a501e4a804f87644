import { Prisma, type Config, type Logger, type PrismaClient, type Queues } from '@smsq/shared';
import { LIVE_JOB_STATES } from '../reconcile/reconciler.js';

export interface RelayDeps {
  config: Config;
  prisma: PrismaClient;
  queues: Pick<Queues, 'webhooks'>;
  logger: Logger;
}

/** At most this many deliveries claimed a round, and per endpoint one job of at most GROUP of them. */
const BATCH = 1000;
const GROUP = 100;
/**
 * Claimed and not yet settled, per endpoint: at most two groups' worth, about one for each of two worker
 * processes. The rest waits in Postgres, not as jobs that would find their endpoint busy and wait again.
 */
const IN_FLIGHT = 2 * GROUP;
/** Infrastructure failures (Postgres down during a try) are retried by BullMQ; delivery retries are not. */
const JOB_OPTIONS = { attempts: 10, backoff: { type: 'exponential', delay: 1000 } };

/**
 * A group's job: one endpoint, one claim. Claimed again (Redis lost the job, a retry fell due, or an
 * operator replayed it), a delivery is in a new job, whatever is left of the old one in Redis.
 */
const webhookJobId = (endpointId: string, claim: string) => `${endpointId}-${claim}`;

/** enqueued_at as the claim's text: microseconds since the epoch, which a JS Date would round away. */
export const CLAIM_SQL = Prisma.sql`(extract(epoch FROM enqueued_at) * 1000000)::bigint::text`;

/**
 * Moves due outbox rows (filled by triggers in the writers' transactions, or failed ones whose retry time
 * has come) onto the webhooks queue, one job per endpoint. Rows are claimed with SKIP LOCKED, so every
 * worker process can run a relay; a claim whose enqueue fails is handed back at once, and one whose
 * process died after the claim is found by `requeueLost`. Answers whether an endpoint had more to claim.
 */
async function relayOnce(deps: RelayDeps): Promise<boolean> {
  const { prisma, queues } = deps;
  // Per endpoint, through the index of its unclaimed deliveries in the order they fall due: a paused
  // endpoint's backlog is not even read, nor a waiting retry. One that has just failed gets one delivery
  // at a time (a probe) until it answers again, or fails its way into a pause.
  const rows = await prisma.$queryRaw<{ id: string; endpointId: string; claim: string }[]>`
    UPDATE webhook_deliveries SET enqueued_at = now(), next_attempt_at = coalesce(next_attempt_at, now())
    -- = ANY(ARRAY(…)), not IN (…): the claimed ids are looked up by primary key, never by a scan.
    WHERE id = ANY(ARRAY(
      SELECT d.id FROM webhook_endpoints e
      CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM (
          SELECT 1 FROM webhook_deliveries
          WHERE endpoint_id = e.id AND state IN ('pending', 'failed') AND enqueued_at IS NOT NULL
          LIMIT ${IN_FLIGHT}) c) f
      CROSS JOIN LATERAL (
        SELECT id FROM webhook_deliveries
        WHERE endpoint_id = e.id AND enqueued_at IS NULL AND coalesce(next_attempt_at, created_at) <= now()
          AND state IN ('pending', 'failed')
        ORDER BY coalesce(next_attempt_at, created_at)
        LIMIT greatest(0, CASE WHEN e.consecutive_failures = 0 THEN least(${GROUP}, ${IN_FLIGHT} - f.n) ELSE 1 - f.n END)
        FOR UPDATE SKIP LOCKED) d
      WHERE e.paused_until IS NULL OR e.paused_until <= now()
      LIMIT ${BATCH}))
    RETURNING id, endpoint_id AS "endpointId", ${CLAIM_SQL} AS claim`;
  if (rows.length === 0) return false;
  const groups = new Map<string, { claim: string; ids: string[] }>();
  for (const r of rows) {
    const g = groups.get(r.endpointId) ?? { claim: r.claim, ids: [] };
    g.ids.push(r.id);
    groups.set(r.endpointId, g);
  }
  try {
    await queues.webhooks.addBulk(
      [...groups].map(([endpointId, g]) => ({
        name: 'deliver',
        data: { endpointId, claim: g.claim, deliveryIds: g.ids },
        opts: { ...JOB_OPTIONS, jobId: webhookJobId(endpointId, g.claim) },
      })),
    );
  } catch (err) {
    const ids = rows.map((r) => r.id);
    await prisma.$executeRaw`UPDATE webhook_deliveries SET enqueued_at = NULL WHERE id = ANY(${ids}::uuid[])`;
    throw err;
  }
  return rows.length === BATCH || [...groups.values()].some((g) => g.ids.length === GROUP);
}

/** Claims looked at per page by requeueLost. */
const LOST_PAGE = 100;

/**
 * Groups claimed longer than WEBHOOK_RECONCILE_AFTER_SECONDS ago and still unsettled, whose job is gone
 * (Redis lost it, or it was of an earlier version's form), are handed back to the relay: one look at the
 * queue per claim, oldest first, page after page. Only rows that still carry the claim are handed back.
 */
async function requeueLost(deps: RelayDeps): Promise<boolean> {
  const { config, prisma, queues } = deps;
  let after = Prisma.sql`TRUE`;
  for (;;) {
    const claims = await prisma.$queryRaw<{ endpointId: string; claim: string }[]>`
      SELECT endpoint_id AS "endpointId", ${CLAIM_SQL} AS claim
      FROM webhook_deliveries
      WHERE state IN ('pending', 'failed') AND enqueued_at IS NOT NULL
        AND enqueued_at < now() - ${config.webhooks.reconcileAfterMs} * interval '1 millisecond' AND ${after}
      GROUP BY endpoint_id, enqueued_at
      ORDER BY enqueued_at, endpoint_id LIMIT ${LOST_PAGE}`;
    for (const c of claims) {
      const state = await queues.webhooks.getJobState(webhookJobId(c.endpointId, c.claim));
      if (LIVE_JOB_STATES.has(state)) continue;
      await prisma.$executeRaw`
        UPDATE webhook_deliveries SET enqueued_at = NULL
        WHERE endpoint_id = ${c.endpointId}::uuid AND ${CLAIM_SQL} = ${c.claim} AND state IN ('pending', 'failed')`;
    }
    const last = claims.at(-1);
    if (claims.length < LOST_PAGE || !last) return false;
    after = Prisma.sql`(${CLAIM_SQL}::bigint, endpoint_id) > (${last.claim}::bigint, ${last.endpointId}::uuid)`;
  }
}

/**
 * The relay, every WEBHOOK_RELAY_INTERVAL_MS and whenever a group is settled (`kick`), and the search for
 * lost deliveries, a few times a minute.
 */
export function startWebhookRelay(deps: RelayDeps): { kick(): void; stop(): Promise<void> } {
  const { config, logger } = deps;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let relayQueued = false;
  const run = (step: () => Promise<boolean>, what: string) => {
    running = running
      .then(async () => {
        // Drain a backlog in one go rather than one round per interval.
        while (!stopped && (await step()));
      })
      .catch((err: Error) => logger.warn({ err: err.message }, `webhook ${what} failed; will retry`));
  };
  // A round asked for while one waits to run is the same round.
  const relay = () => {
    if (stopped || relayQueued) return;
    relayQueued = true;
    run(() => {
      relayQueued = false;
      return relayOnce(deps);
    }, 'relay');
  };
  const timers = [
    setInterval(relay, config.webhooks.relayIntervalMs),
    setInterval(
      () => !stopped && run(() => requeueLost(deps), 'reconcile'),
      Math.min(15_000, Math.max(1000, config.webhooks.reconcileAfterMs / 2)),
    ),
  ];
  return {
    kick: relay,
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await running;
    },
  };
}
