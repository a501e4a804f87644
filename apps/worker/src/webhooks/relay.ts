import type { Config, Logger, PrismaClient, Queues } from '@smsq/shared';
import { LIVE_JOB_STATES } from '../reconcile/reconciler.js';

export interface RelayDeps {
  config: Config;
  prisma: PrismaClient;
  queues: Pick<Queues, 'webhooks'>;
  logger: Logger;
}

const BATCH = 500;
/** Infrastructure failures (Postgres down during a try) are retried by BullMQ; delivery retries are not. */
const JOB_OPTIONS = { attempts: 10, backoff: { type: 'exponential', delay: 1000 } };

/**
 * A delivery's job for one claim by the relay: claimed again (Redis lost the job, or an operator replayed
 * it), it is a new job, whatever is left of the old one in Redis.
 */
export const webhookJobId = (id: string, enqueuedAt: Date) => `${id}-${enqueuedAt.getTime()}`;

/**
 * Moves outbox rows (filled by triggers in the writers' transactions) onto the webhooks queue. Rows are
 * claimed with SKIP LOCKED, so every worker process can run a relay; a claim whose enqueue fails is
 * handed back at once, and one whose process died after the claim is found by `requeueLost`.
 */
async function relayOnce(deps: RelayDeps): Promise<number> {
  const { prisma, queues } = deps;
  // Per endpoint, through the index of its unclaimed deliveries: a paused endpoint's backlog is not even
  // read. One that has just failed gets one delivery a round (a probe) until it answers again, or fails
  // its way into a pause.
  const rows = await prisma.$queryRaw<{ id: string; enqueuedAt: Date; next: Date }[]>`
    UPDATE webhook_deliveries SET enqueued_at = clock_timestamp(), next_attempt_at = coalesce(next_attempt_at, now())
    WHERE id IN (
      SELECT d.id FROM webhook_endpoints e
      CROSS JOIN LATERAL (
        SELECT id FROM webhook_deliveries
        WHERE endpoint_id = e.id AND enqueued_at IS NULL
        ORDER BY created_at
        LIMIT CASE WHEN e.consecutive_failures = 0 THEN ${BATCH} ELSE 1 END
        FOR UPDATE SKIP LOCKED) d
      WHERE e.paused_until IS NULL OR e.paused_until <= now()
      LIMIT ${BATCH})
    RETURNING id, enqueued_at AS "enqueuedAt", next_attempt_at AS next`;
  if (rows.length === 0) return 0;
  try {
    await queues.webhooks.addBulk(
      rows.map((r) => ({
        name: 'deliver',
        data: { deliveryId: r.id },
        opts: {
          ...JOB_OPTIONS,
          jobId: webhookJobId(r.id, r.enqueuedAt),
          delay: Math.max(0, r.next.getTime() - Date.now()),
        },
      })),
    );
  } catch (err) {
    const ids = rows.map((r) => r.id);
    await prisma.$executeRaw`UPDATE webhook_deliveries SET enqueued_at = NULL WHERE id = ANY(${ids}::uuid[])`;
    throw err;
  }
  return rows.length;
}

/**
 * Deliveries that should have been tried by now but have no live job (Redis lost it, or a process died
 * between its try and its record) are handed back to the relay.
 */
async function requeueLost(deps: RelayDeps): Promise<number> {
  const { config, prisma, queues } = deps;
  const overdue = await prisma.$queryRaw<{ id: string; enqueuedAt: Date }[]>`
    SELECT id, enqueued_at AS "enqueuedAt" FROM webhook_deliveries
    WHERE state IN ('pending', 'failed') AND enqueued_at IS NOT NULL
      AND next_attempt_at < now() - ${config.webhooks.reconcileAfterMs} * interval '1 millisecond'
    ORDER BY next_attempt_at LIMIT ${BATCH}`;
  const lost: string[] = [];
  for (const row of overdue) {
    const state = await queues.webhooks.getJobState(webhookJobId(row.id, row.enqueuedAt));
    if (!LIVE_JOB_STATES.has(state)) lost.push(row.id);
  }
  if (lost.length > 0) {
    await prisma.$executeRaw`UPDATE webhook_deliveries SET enqueued_at = NULL WHERE id = ANY(${lost}::uuid[])`;
  }
  return lost.length;
}

/** The relay, every WEBHOOK_RELAY_INTERVAL_MS, and the search for lost deliveries, a few times a minute. */
export function startWebhookRelay(deps: RelayDeps): { stop(): Promise<void> } {
  const { config, logger } = deps;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const every = (ms: number, step: () => Promise<number>, what: string) =>
    setInterval(() => {
      if (stopped) return;
      running = running
        .then(async () => {
          // Drain a backlog in one tick rather than one batch per interval.
          for (let n = await step(); n === BATCH && !stopped; n = await step());
        })
        .catch((err: Error) => logger.warn({ err: err.message }, `webhook ${what} failed; will retry`));
    }, ms);
  const timers = [
    every(config.webhooks.relayIntervalMs, () => relayOnce(deps), 'relay'),
    every(Math.min(15_000, Math.max(1000, config.webhooks.reconcileAfterMs / 2)), () => requeueLost(deps), 'reconcile'),
  ];
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await running;
    },
  };
}
