import { UnrecoverableError, type Job } from 'bullmq';
import {
  TTL_MAX_SECONDS,
  advanceStatus,
  claimForSending,
  classifySendError,
  isFinal,
  maskPhone,
  recordSubmission,
  type Config,
  type Logger,
  type Message,
  type PrismaClient,
  type SendJob,
  type TwilioClient,
} from '@smsq/shared';

export interface SendDeps {
  config: Config;
  prisma: PrismaClient;
  twilio: TwilioClient;
  logger: Logger;
}

export type SendOutcome = 'submitted' | 'adopted' | 'expired' | 'skipped' | 'failed';

function statusCallbackUrl(config: Config, messageId: string): string {
  // Our own id rides in the URL: a callback can arrive before the SID from the send is recorded.
  return `${config.publicBaseUrl}/webhooks/twilio/status?mid=${messageId}`;
}

/**
 * After an attempt that may have reached Twilio (timeout, 5xx, a worker killed mid-call), the message
 * is looked up at Twilio before sending again: Twilio's create has no idempotency key.
 */
async function findAtTwilio(deps: SendDeps, m: Message) {
  const since = m.createdAt.getTime() - 60_000;
  const candidates = await deps.twilio.messages.list({ to: m.to, limit: 50 });
  return candidates.find(
    (c) => c.body === m.body && c.dateCreated.getTime() >= since && (!m.from || !c.from || c.from === m.from),
  );
}

export function createSendProcessor(deps: SendDeps) {
  const { config, prisma, twilio, logger } = deps;
  const sender = config.twilio.messagingServiceSid
    ? { messagingServiceSid: config.twilio.messagingServiceSid }
    : { from: config.twilio.phoneNumber };

  return async function processSend(job: Job<SendJob>): Promise<SendOutcome> {
    const { messageId } = job.data;
    const log = logger.child({ messageId, attempt: job.attemptsMade + 1 });
    const m = await prisma.message.findUnique({ where: { id: messageId } });
    if (!m || isFinal(m.status) || (m.status !== 'queued' && m.status !== 'sending')) return 'skipped';

    if (m.attempts > 0) {
      const found = await findAtTwilio(deps, m);
      if (found) {
        await recordSubmission(prisma, m.id, {
          twilioSid: found.sid,
          from: found.from,
          segments: Number(found.numSegments) || undefined,
        });
        log.info({ twilioSid: found.sid }, 'earlier attempt had reached Twilio; adopted it');
        return 'adopted';
      }
    }

    const remainingMs = m.expiresAt.getTime() - Date.now();
    if (remainingMs < 1000) {
      await advanceStatus(prisma, { messageId, to: 'expired', source: 'worker', onlyFrom: ['queued', 'sending'] });
      log.info('expired before it could be sent');
      return 'expired';
    }

    const attempt = await claimForSending(prisma, messageId, m.attempts);
    if (attempt === undefined) return 'skipped'; // another worker holds this attempt

    try {
      const sent = await twilio.messages.create({
        to: m.to,
        ...sender,
        body: m.body ?? '',
        statusCallback: statusCallbackUrl(config, messageId),
        validityPeriod: Math.min(TTL_MAX_SECONDS, Math.max(1, Math.floor(remainingMs / 1000))),
        attempt,
      });
      await recordSubmission(prisma, messageId, {
        twilioSid: sent.sid,
        from: sent.from,
        segments: Number(sent.numSegments) || undefined,
      });
      log.info({ twilioSid: sent.sid, to: maskPhone(m.to) }, 'submitted to Twilio');
      return 'submitted';
    } catch (err) {
      const failure = classifySendError(err);
      const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ kind: failure.kind, code: failure.code, error: failure.message }, 'send attempt failed');
      if (failure.kind === 'permanent' || lastTry) {
        await advanceStatus(prisma, {
          messageId,
          to: 'failed',
          source: 'worker',
          onlyFrom: ['sending'],
          errorCode: failure.code,
          errorMessage: failure.message,
        });
        if (failure.kind === 'permanent') throw new UnrecoverableError(failure.message);
        return 'failed';
      }
      throw err instanceof Error ? err : new Error(failure.message);
    }
  };
}
