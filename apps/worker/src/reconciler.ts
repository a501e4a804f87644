import { randomUUID } from 'node:crypto';
import {
  CATEGORY_PRIORITY,
  advanceStatus,
  fromTwilioStatus,
  type Config,
  type Logger,
  type PrismaClient,
  type Queues,
  type TwilioClient,
} from '@smsq/shared';
import type { Redis } from 'ioredis';

export interface ReconcilerDeps {
  config: Config;
  prisma: PrismaClient;
  redis: Redis;
  queues: Queues;
  twilio: TwilioClient;
  logger: Logger;
}

export interface ReconcileReport {
  requeued: number;
  refreshed: number;
}

const BATCH = 500;

/**
 * Postgres is the truth and Redis may forget. (1) A queued or sending message whose job is gone, or
 * whose job ended without finishing it, gets its job back: the send processor then looks the message
 * up at Twilio before sending, so a requeue never sends twice. (2) A message Twilio took but never
 * called back about is fetched from Twilio: Twilio says callbacks can be lost.
 */
export async function reconcileOnce(deps: ReconcilerDeps): Promise<ReconcileReport> {
  const { config, prisma, queues, twilio, logger } = deps;
  const report: ReconcileReport = { requeued: 0, refreshed: 0 };

  const stuck = await prisma.message.findMany({
    where: {
      status: { in: ['queued', 'sending'] },
      updatedAt: { lt: new Date(Date.now() - config.reconcile.queuedAfterMs) },
    },
    select: { id: true, category: true, sendAt: true },
    orderBy: { updatedAt: 'asc' },
    take: BATCH,
  });
  for (const m of stuck) {
    const job = await queues.send.getJob(m.id);
    const state = job ? await job.getState() : 'missing';
    if (
      state === 'active' ||
      state === 'waiting' ||
      state === 'delayed' ||
      state === 'prioritized' ||
      state === 'waiting-children'
    ) {
      continue;
    }
    if (job) await job.remove().catch(() => undefined);
    const delay = m.sendAt ? Math.max(0, m.sendAt.getTime() - Date.now()) : 0;
    await queues.send.add(
      'send',
      { messageId: m.id },
      { jobId: m.id, priority: CATEGORY_PRIORITY[m.category], delay: delay || undefined },
    );
    report.requeued++;
    logger.warn({ messageId: m.id, jobState: state }, 'reconciler: requeued a message whose job was lost');
  }

  const silent = await prisma.message.findMany({
    where: {
      status: { in: ['submitted', 'sent'] },
      twilioSid: { not: null },
      updatedAt: { lt: new Date(Date.now() - config.reconcile.sentAfterMs) },
    },
    select: { id: true, twilioSid: true },
    orderBy: { updatedAt: 'asc' },
    take: BATCH,
  });
  for (const m of silent) {
    try {
      const remote = await twilio.messages(m.twilioSid!).fetch();
      const status = fromTwilioStatus(remote.status);
      const moved =
        status &&
        (await advanceStatus(prisma, {
          messageId: m.id,
          to: status,
          source: 'worker',
          errorCode: remote.errorCode ?? undefined,
          errorMessage: remote.errorMessage ?? undefined,
        }));
      if (remote.price) {
        await prisma.message.update({
          where: { id: m.id },
          data: { price: remote.price, priceUnit: remote.priceUnit },
        });
      }
      // Touch the row either way so a message that stays `sent` (no DLR from the carrier) is not fetched every pass.
      if (!moved) await prisma.message.update({ where: { id: m.id }, data: { updatedAt: new Date() } });
      else report.refreshed++;
    } catch (err) {
      logger.warn({ messageId: m.id, error: (err as Error).message }, 'reconciler: could not fetch from Twilio');
    }
  }
  return report;
}

/** Runs reconcileOnce every interval in every worker, one at a time across all of them (a Redis lock). */
export function startReconciler(deps: ReconcilerDeps): { stop(): Promise<void> } {
  const lockKey = `${deps.config.queuePrefix}:reconciler:lock`;
  let running: Promise<void> | undefined;
  const tick = async () => {
    const token = randomUUID();
    const got = await deps.redis
      .set(lockKey, token, 'PX', deps.config.reconcile.intervalMs * 2, 'NX')
      .catch(() => null);
    if (!got) return;
    try {
      const r = await reconcileOnce(deps);
      if (r.requeued || r.refreshed) deps.logger.info(r, 'reconciler pass');
    } catch (err) {
      deps.logger.warn({ error: (err as Error).message }, 'reconciler pass failed');
    } finally {
      // Release only our own lock.
      await deps.redis
        .eval(
          "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
          1,
          lockKey,
          token,
        )
        .catch(() => undefined);
    }
  };
  const timer = setInterval(() => {
    if (!running) running = tick().finally(() => (running = undefined));
  }, deps.config.reconcile.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
