import { randomUUID } from 'node:crypto';
import {
  advanceStatus,
  fromTwilioStatus,
  sendJobOptions,
  type Config,
  type Logger,
  type PrismaClient,
  type Queues,
  type TwilioClient,
} from '@smsq/shared';
import type { RedisClient } from '@smsq/shared';
import type { SendSignals } from '../send/signals.js';

export interface ReconcilerDeps {
  config: Config;
  prisma: PrismaClient;
  redis: RedisClient;
  queues: Queues;
  twilio: TwilioClient;
  logger: Logger;
}

export interface ReconcileReport {
  requeued: number;
  refreshed: number;
  priced: number;
  expiredOtps: number;
}

/**
 * Where the scan for lost jobs goes on next pass. Messages legitimately waiting (a long queue behind a
 * slow sender) are passed over rather than looked at again every pass, so a lost one further back is
 * still reached; at the end of the list the scan starts again from the oldest.
 */
interface ScanCursor {
  after?: { updatedAt: Date; id: string };
}

const BATCH = 500;
/** Twilio fills in a price some time after the final status, and never for some messages. */
const MAX_PRICE_CHECKS = 3;
/** Job states in which a job will still run (or is running); the webhook relay asks the same. */
export const LIVE_JOB_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/** (1) A queued or sending message whose job is gone, or ended without finishing it, gets its job back. */
async function requeueLost(deps: ReconcilerDeps, cursor: ScanCursor): Promise<number> {
  const { config, prisma, queues, logger } = deps;
  const now = new Date();
  const after = cursor.after;
  const stuck = await prisma.message.findMany({
    where: {
      status: { in: ['queued', 'sending'] },
      updatedAt: { lt: new Date(now.getTime() - config.reconcile.queuedAfterMs) },
      // Not yet due: its job sits in the delayed set until sendAt, however old the row is.
      OR: [{ sendAt: null }, { sendAt: { lte: now } }],
      ...(after
        ? {
            AND: [
              { OR: [{ updatedAt: { gt: after.updatedAt } }, { updatedAt: after.updatedAt, id: { gt: after.id } }] },
            ],
          }
        : {}),
    },
    select: { id: true, category: true, sendAt: true, updatedAt: true },
    orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
    take: BATCH,
  });
  const last = stuck.at(-1);
  cursor.after = stuck.length === BATCH && last ? { updatedAt: last.updatedAt, id: last.id } : undefined;

  let requeued = 0;
  for (const m of stuck) {
    const job = await queues.send.getJob(m.id);
    const state = job ? await job.getState() : 'missing';
    if (LIVE_JOB_STATES.has(state)) continue;
    if (job) await job.remove().catch(() => undefined);
    // The send processor looks the message up at Twilio before sending, so a requeue never sends twice.
    await queues.send.add('send', { messageId: m.id }, sendJobOptions(m.id, m.category, 0));
    requeued++;
    logger.warn({ messageId: m.id, jobState: state }, 'reconciler: requeued a message whose job was lost');
  }
  return requeued;
}

/** (2) A message Twilio took but never called back about is fetched: Twilio says callbacks can be lost. */
async function refreshSilent(deps: ReconcilerDeps): Promise<number> {
  const { config, prisma, twilio, logger } = deps;
  const silent = await prisma.message.findMany({
    where: {
      status: { in: ['submitted', 'sent'] },
      twilioSid: { not: null },
      test: false, // settled by the worker itself, never at Twilio
      updatedAt: { lt: new Date(Date.now() - config.reconcile.sentAfterMs) },
    },
    select: { id: true, twilioSid: true },
    orderBy: { updatedAt: 'asc' },
    take: BATCH,
  });
  let refreshed = 0;
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
      // Touch the row either way so a message that stays `sent` (no DLR from the carrier) is not fetched every pass.
      await prisma.message.update({
        where: { id: m.id },
        data: { updatedAt: new Date(), ...(remote.price ? { price: remote.price, priceUnit: remote.priceUnit } : {}) },
      });
      if (moved) refreshed++;
    } catch (err) {
      logger.warn({ messageId: m.id, error: (err as Error).message }, 'reconciler: could not fetch from Twilio');
    }
  }
  return refreshed;
}

/**
 * (3) Status callbacks carry no price: a finished message is fetched for it a little later, a few times
 * at most (Twilio charges nothing for some, and its price can lag).
 */
async function fetchPrices(deps: ReconcilerDeps): Promise<number> {
  const { config, prisma, twilio, logger } = deps;
  const unpriced = await prisma.message.findMany({
    where: {
      status: { in: ['delivered', 'undelivered'] },
      price: null,
      twilioSid: { not: null },
      test: false,
      priceChecks: { lt: MAX_PRICE_CHECKS },
      updatedAt: { lt: new Date(Date.now() - config.reconcile.priceAfterMs) },
    },
    select: { id: true, twilioSid: true },
    orderBy: { updatedAt: 'asc' },
    take: BATCH,
  });
  let priced = 0;
  for (const m of unpriced) {
    try {
      const remote = await twilio.messages(m.twilioSid!).fetch();
      await prisma.message.update({
        where: { id: m.id },
        data: {
          priceChecks: { increment: 1 },
          updatedAt: new Date(),
          ...(remote.price ? { price: remote.price, priceUnit: remote.priceUnit } : {}),
        },
      });
      if (remote.price) priced++;
    } catch (err) {
      logger.warn({ messageId: m.id, error: (err as Error).message }, 'reconciler: could not fetch a price');
    }
  }
  return priced;
}

/**
 * (4) A pending OTP past its expiry becomes `expired` (verifying it already says so): the status change
 * is what raises its `otp.expired` webhook event, whether or not anyone tries the code.
 */
async function expireOtps(deps: ReconcilerDeps): Promise<number> {
  return deps.prisma.$executeRaw`
    UPDATE otps SET status = 'expired', updated_at = now()
    WHERE id IN (SELECT id FROM otps WHERE status = 'pending' AND expires_at <= now() LIMIT ${BATCH})`;
}

/** Postgres is the truth and Redis may forget; Twilio's callbacks may be lost and carry no price. */
async function reconcileOnce(deps: ReconcilerDeps, cursor: ScanCursor = {}): Promise<ReconcileReport> {
  return {
    requeued: await requeueLost(deps, cursor),
    refreshed: await refreshSilent(deps),
    priced: await fetchPrices(deps),
    expiredOtps: await expireOtps(deps),
  };
}

/** Runs reconcileOnce every interval in every worker, one at a time across all of them (a Redis lock). */
export function startReconciler(deps: ReconcilerDeps, signals: SendSignals): { stop(): Promise<void> } {
  const lockKey = `${deps.config.queuePrefix}:reconciler:lock`;
  let running: Promise<void> | undefined;
  const cursor: ScanCursor = {};
  const tick = async () => {
    const token = randomUUID();
    const got = await deps.redis
      .set(lockKey, token, 'PX', deps.config.reconcile.intervalMs * 2, 'NX')
      .catch(() => null);
    if (!got) return;
    try {
      const r = await reconcileOnce(deps, cursor);
      signals.emit('reconciled', r);
      if (r.requeued || r.refreshed || r.priced || r.expiredOtps) deps.logger.info(r, 'reconciler pass');
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
