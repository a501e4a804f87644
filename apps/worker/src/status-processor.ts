import type { Job } from 'bullmq';
import { advanceStatus, fromTwilioStatus, type Logger, type PrismaClient, type StatusJob } from '@smsq/shared';

export interface StatusDeps {
  prisma: PrismaClient;
  logger: Logger;
}

/** Applies a Twilio status callback. Order and repeats do not matter: statuses only move forward. */
export function createStatusProcessor({ prisma, logger }: StatusDeps) {
  return async function processStatus(job: Job<StatusJob>): Promise<'applied' | 'unchanged' | 'unknown'> {
    const d = job.data;
    const status = fromTwilioStatus(d.twilioStatus);
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
    const moved = await advanceStatus(prisma, {
      messageId: row.id,
      to: status,
      source: 'webhook',
      errorCode: d.errorCode,
      twilioSid: d.twilioSid,
    });
    return moved ? 'applied' : 'unchanged';
  };
}
