import type { Job } from 'bullmq';
import {
  advanceStatus,
  fromTwilioStatus,
  isSenderOverload,
  type Config,
  type Logger,
  type PrismaClient,
  type SendRateLimiter,
  type StatusJob,
} from '@smsq/shared';
import type { SendSignals } from './send-signals.js';
import { senderKey } from './sender.js';

export interface StatusDeps {
  config: Config;
  prisma: PrismaClient;
  logger: Logger;
  limiter: SendRateLimiter;
  signals: SendSignals;
}

/** Twilio sends no Retry-After with a 30001 callback; hold the sender back this long. */
const OVERLOAD_PAUSE_MS = 1000;

/** Applies a Twilio status callback. Order and repeats do not matter: statuses only move forward. */
export function createStatusProcessor({ config, prisma, logger, limiter, signals }: StatusDeps) {
  return async function processStatus(job: Job<StatusJob>): Promise<'applied' | 'unchanged' | 'unknown'> {
    const d = job.data;
    const status = fromTwilioStatus(d.twilioStatus);
    // The common case, one statement: the callback names our message and the SID matches (or none is known yet).
    let moved =
      status !== undefined &&
      d.messageId !== undefined &&
      (await advanceStatus(prisma, {
        messageId: d.messageId,
        to: status,
        source: 'webhook',
        errorCode: d.errorCode,
        twilioSid: d.twilioSid,
        onlyForSid: d.twilioSid,
      }));
    if (!moved) {
      const row = d.messageId
        ? await prisma.message.findUnique({ where: { id: d.messageId }, select: { id: true, twilioSid: true } })
        : await prisma.message.findUnique({ where: { twilioSid: d.twilioSid }, select: { id: true, twilioSid: true } });
      if (!row || !status) {
        logger.warn({ twilioSid: d.twilioSid, twilioStatus: d.twilioStatus }, 'status callback for no known message');
        return 'unknown';
      }
      if (row.twilioSid && row.twilioSid !== d.twilioSid) {
        // A second Twilio message for one of ours would be a duplicate send; never let it steer the status.
        logger.error({ messageId: row.id, twilioSid: d.twilioSid }, 'callback from another Twilio message');
        return 'unknown';
      }
      if (!d.messageId) {
        moved = await advanceStatus(prisma, {
          messageId: row.id,
          to: status,
          source: 'webhook',
          errorCode: d.errorCode,
          twilioSid: d.twilioSid,
        });
      }
    }
    // 30001: the sender's queue at Twilio overflowed, so we send faster than it drains. Once per message.
    if (moved && isSenderOverload(d.errorCode)) {
      await limiter.slowDown(senderKey(config), 'sender', OVERLOAD_PAUSE_MS);
      signals.emit('slowDown', 'sender', d.errorCode);
    }
    return moved ? 'applied' : 'unchanged';
  };
}
