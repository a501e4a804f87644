import type { Job } from 'bullmq';
import {
  applyStatusCallbacks,
  isSenderOverload,
  type CallbackOutcome,
  type Config,
  type Logger,
  type PrismaClient,
  type StatusJob,
} from '@smsq/shared';
import { type SendRateLimiter } from '../send/limiter/send-rate-limiter.js';
import type { SendSignals } from '../send/signals.js';
import { senderKey } from '../send/sender.js';

export interface StatusDeps {
  config: Config;
  prisma: PrismaClient;
  logger: Logger;
  limiter: SendRateLimiter;
  signals: SendSignals;
}

/** Twilio sends no Retry-After with a 30001 callback; hold the sender back this long. */
const OVERLOAD_PAUSE_MS = 1000;

/** Applies a status callback the API queued (see StatusJob). */
export function createStatusProcessor({ config, prisma, logger, limiter, signals }: StatusDeps) {
  return async function processStatus(job: Job<StatusJob>): Promise<CallbackOutcome> {
    const [outcome] = await applyStatusCallbacks(prisma, [job.data], logger);
    // 30001: the sender's queue at Twilio overflowed, so we send faster than it drains. Once per message.
    if (outcome === 'applied' && isSenderOverload(job.data.errorCode)) {
      // The message's own sender, as it was chosen at send time: its service's, else the deployment's.
      const m = job.data.messageId
        ? await prisma.message.findUnique({ where: { id: job.data.messageId }, select: { apiKey: true } })
        : null;
      const service = m?.apiKey
        ? await prisma.service.findUnique({
            where: { name: m.apiKey },
            select: { from: true, messagingServiceSid: true },
          })
        : null;
      await limiter.slowDown(senderKey(config, service ?? undefined), 'sender', OVERLOAD_PAUSE_MS);
      signals.emit('slowDown', 'sender', job.data.errorCode);
    }
    return outcome!;
  };
}
