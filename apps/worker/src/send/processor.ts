import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import {
  CATEGORY_PRIORITY,
  TTL_MAX_SECONDS,
  advanceStatus,
  advanceStatuses,
  classifySendError,
  maskPhone,
  setOptOut,
  UnsealError,
  withRetryAfter,
  type Config,
  type MessageSealer,
  type Logger,
  type PrismaClient,
  type SendFailure,
  type SendJob,
  type TwilioClient,
} from '@smsq/shared';
import { type SendRateLimiter, type Slot } from './limiter/send-rate-limiter.js';
import type { SendSignals } from './signals.js';
import { SendStore, type Sendable } from './store.js';
import { senderKey, senderParams } from './sender.js';
import { testOutcome, testSid } from './test-outcomes.js';

export interface SendDeps {
  config: Config;
  prisma: PrismaClient;
  twilio: TwilioClient;
  logger: Logger;
  limiter: SendRateLimiter;
  signals: SendSignals;
  /** Opens an OTP's sealed text (with its code) in memory, only to send it. */
  sealer: MessageSealer;
  /** Settles once the Twilio client is loaded (warmUpTwilioClient): no slot is taken before. */
  twilioReady: Promise<void>;
}

/** What a send did; `test` is a test key's message settled here, kept apart from the live series. */
export type SendOutcome = 'submitted' | 'adopted' | 'expired' | 'skipped' | 'failed' | 'test';

/** Twilio's ValidityPeriod is at least 1 s: a message with less time left is not sent. */
const MIN_VALIDITY_MS = 1000;
/**
 * A send that may be more than a quarter of its spacing behind its slot (counting a slow reply from
 * Redis as lateness, see Slot.earliestAt) takes a new one rather than crowd the next send. Below 10 ms of spacing (above 100 segments/s) it goes anyway: the limit is then finer than the
 * machine's own timing.
 */
const LATE_CHECK_MIN_SPACING_MS = 10;
const MAX_SLOT_RETAKES = 3;
const isLate = (slot: Slot) =>
  slot.spacingMs >= LATE_CHECK_MIN_SPACING_MS && Date.now() - slot.earliestAt > slot.spacingMs / 4;
/** Twilio's "unsubscribed recipient" code, recorded when we hold back a message for the same reason. */
const OPTED_OUT_CODE = 21610;
/** How long to hold off after Twilio said "too fast" without a Retry-After. */
const DEFAULT_RETRY_AFTER_MS = 1000;

function statusCallbackUrl(config: Config, messageId: string): string {
  // Our own id rides in the URL: a callback can arrive before the SID from the send is recorded.
  return `${config.publicBaseUrl}/webhooks/twilio/status?mid=${messageId}`;
}

/**
 * After an attempt that may have reached Twilio (timeout, 5xx, a worker killed mid-call), the message
 * is looked up at Twilio before sending again: Twilio's create has no idempotency key. It matches on
 * the text sent, which an OTP keeps (sealed) until Twilio has the message (store.ts).
 */
async function findAtTwilio(deps: SendDeps, m: Sendable, text: string) {
  const since = m.createdAt.getTime() - 60_000;
  const candidates = (await deps.twilio.messages.list({ to: m.to, limit: 50 })).filter(
    (c) => c.body === text && c.dateCreated.getTime() >= since && (!m.from || !c.from || c.from === m.from),
  );
  if (candidates.length === 0) return undefined;
  // The same text to the same number may be another message of ours (a retry sent without an
  // Idempotency-Key): a SID already recorded for another message is not this one's.
  const taken = await deps.prisma.message.findMany({
    where: { twilioSid: { in: candidates.map((c) => c.sid) }, id: { not: m.id } },
    select: { twilioSid: true },
  });
  const others = new Set(taken.map((t) => t.twilioSid));
  return candidates.find((c) => !others.has(c.sid));
}

/** A failure BullMQ labels by Twilio's code in the metrics and never retries. */
function unrecoverable(failure: SendFailure): UnrecoverableError {
  return Object.assign(new UnrecoverableError(failure.message), { code: failure.code });
}

export function createSendProcessor(deps: SendDeps) {
  const { config, prisma, twilio, logger, limiter, signals, sealer } = deps;
  const store = new SendStore(prisma);

  async function adopt(m: Sendable, found: NonNullable<Awaited<ReturnType<typeof findAtTwilio>>>) {
    await store.recordSubmission({
      messageId: m.id,
      twilioSid: found.sid,
      from: found.from,
      segments: Number(found.numSegments) || undefined,
    });
  }

  async function fail(messageId: string, failure: SendFailure) {
    await advanceStatus(prisma, {
      messageId,
      to: 'failed',
      source: 'worker',
      onlyFrom: ['sending'],
      errorCode: failure.code,
      errorMessage: failure.message,
    });
  }

  /**
   * A test key's message: the same claim and status history as a live send, settled here as Twilio would
   * settle it (testOutcome), without a slot of the sender's limit and without any call to Twilio.
   */
  async function settleTest(m: Sendable): Promise<SendOutcome> {
    const attempt = await store.claim(m.id, m.attempts);
    if (attempt === undefined) return 'skipped';
    const outcome = testOutcome(m.to);
    if (outcome.status === 'failed') {
      await advanceStatus(prisma, {
        messageId: m.id,
        to: 'failed',
        source: 'worker',
        onlyFrom: ['sending'],
        errorCode: outcome.errorCode,
        errorMessage: `test key: a live send to this number would fail with ${outcome.errorCode}`,
      });
      return 'test';
    }
    // One transaction: a worker killed half way leaves the message `sending`, which a retry settles;
    // never `submitted` with no Twilio to call back.
    await prisma.$transaction(async (tx) =>
      advanceStatuses(tx, [
        { messageId: m.id, to: 'submitted', source: 'worker', twilioSid: testSid(), onlyFrom: ['sending'] },
        { messageId: m.id, to: 'sent', source: 'worker' },
        {
          messageId: m.id,
          to: outcome.status,
          source: 'worker',
          errorCode: outcome.status === 'undelivered' ? outcome.errorCode : undefined,
        },
      ]),
    );
    return 'test';
  }

  return async function processSend(job: Job<SendJob>, token?: string): Promise<SendOutcome> {
    const { messageId } = job.data;
    const log = logger.child({ messageId, attempt: job.attemptsMade + 1 });
    const m = await store.load(messageId);
    if (!m || (m.status !== 'queued' && m.status !== 'sending')) return 'skipped';
    let text: string;
    try {
      text = m.sealedBody === null ? (m.body ?? '') : sealer.open(messageId, m.sealedBody);
    } catch (err) {
      if (!(err instanceof UnsealError)) throw err;
      // Another OTP_SECRET than the API's: no retry can open it, and the code must not go out unseen.
      await advanceStatus(prisma, {
        messageId,
        to: 'failed',
        source: 'worker',
        onlyFrom: ['queued', 'sending'],
        errorMessage: `${err.message} (OTP_SECRET differs from the API's)`,
      });
      log.error('could not open the sealed OTP text: OTP_SECRET differs between the API and this worker');
      throw new UnrecoverableError(err.message);
    }

    if (!m.test && m.attempts > (job.data.notAtTwilioUpTo ?? 0)) {
      const found = await findAtTwilio(deps, m, text);
      if (found) {
        await adopt(m, found);
        log.info({ twilioSid: found.sid }, 'earlier attempt had reached Twilio; adopted it');
        return 'adopted';
      }
    }

    if (m.optedOut) {
      // STOP arrived after this message was accepted; Twilio would refuse it with 21610 anyway.
      await advanceStatus(prisma, {
        messageId,
        to: 'failed',
        source: 'worker',
        onlyFrom: ['queued', 'sending'],
        errorCode: OPTED_OUT_CODE,
        errorMessage: 'the recipient opted out (STOP) after this message was accepted',
      });
      log.info('recipient opted out since; not sent');
      return 'failed';
    }

    const expire = async (why: string) => {
      await advanceStatus(prisma, { messageId, to: 'expired', source: 'worker', onlyFrom: ['queued', 'sending'] });
      log.info(why);
      return 'expired' as const;
    };
    const deadline = m.expiresAt.getTime() - MIN_VALIDITY_MS;
    if (Date.now() >= deadline) return expire('expired before it could be sent');

    if (m.test) return settleTest(m);
    const sender = senderKey(config, m);

    /**
     * Back to BullMQ's delayed set, not a failed attempt; at the deadline it comes back to expire. When it
     * comes back its turn has come: in the plain wait list (priority 0), which BullMQ serves before the
     * prioritized set, it is taken before the jobs not yet seen instead of behind all of its category.
     */
    const parkUntil = async (at: number) => {
      if (job.priority !== 0) await job.changePriority({ priority: 0 });
      await job.moveToDelayed(Math.min(at, deadline), token);
      return new DelayedError();
    };
    const takeSlot = (woken: boolean) =>
      limiter.acquire({ sender, segments: m.segments, priority: CATEGORY_PRIORITY[m.category], woken, deadline });
    const park = async (slot: Slot) => {
      signals.emit('rateLimitWait', slot.scope);
      return parkUntil(slot.at);
    };

    await deps.twilioReady;
    // Started more often than it was tried: it came back from waiting for the limit (or for a 429).
    let slot = await takeSlot(job.attemptsStarted > job.attemptsMade + 1);
    if (!slot.granted) throw await park(slot);
    const [attempt] = await Promise.all([store.claim(messageId, m.attempts), sleep(Math.max(0, slot.at - Date.now()))]);
    if (attempt === undefined) return 'skipped'; // another worker holds this attempt
    // Stalled past its slot (a busy machine, a slow claim): sending now would crowd the sends after it,
    // so it takes a new slot instead, a few times at most.
    for (let retake = 0; retake < MAX_SLOT_RETAKES && isLate(slot); retake++) {
      slot = await takeSlot(true);
      if (!slot.granted) {
        await job.updateData({ ...job.data, notAtTwilioUpTo: attempt });
        throw await park(slot);
      }
      await sleep(Math.max(0, slot.at - Date.now()));
    }
    const remainingMs = m.expiresAt.getTime() - Date.now();
    if (remainingMs < MIN_VALIDITY_MS) return expire('expired while waiting for its send slot');

    try {
      const sent = await withRetryAfter(() =>
        twilio.messages.create({
          to: m.to,
          ...senderParams(config, m),
          body: text,
          statusCallback: statusCallbackUrl(config, messageId),
          validityPeriod: Math.min(TTL_MAX_SECONDS, Math.max(1, Math.floor(remainingMs / 1000))),
          attempt,
        }),
      );
      await store.recordSubmission({
        messageId,
        twilioSid: sent.sid,
        from: sent.from,
        segments: Number(sent.numSegments) || undefined,
      });
      log.info({ twilioSid: sent.sid, to: maskPhone(m.to) }, 'submitted to Twilio');
      return 'submitted';
    } catch (err) {
      const failure = classifySendError(err);
      // `twilioCode`, not `code`: the logger redacts every `code` field, as OTP codes might travel in one.
      log.warn({ kind: failure.kind, twilioCode: failure.code, error: failure.message }, 'send attempt failed');

      if (failure.kind === 'permanent') {
        if (failure.optedOut) await setOptOut(prisma, m.to, true, String(failure.code), 'twilio_error');
        await fail(messageId, failure);
        throw unrecoverable(failure);
      }
      // Twilio certainly has nothing from this attempt: a retry need not look for it there.
      if (failure.kind === 'transient') await job.updateData({ ...job.data, notAtTwilioUpTo: attempt });

      if (failure.slowDown) {
        // "Too fast" is not the message's fault: slow the sender down and wait, without using up a try.
        const retryAfterMs = failure.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
        await limiter.slowDown(sender, failure.slowDown, retryAfterMs);
        signals.emit('slowDown', failure.slowDown, failure.code);
        signals.emit('retryLater', failure.code);
        throw await parkUntil(Date.now() + retryAfterMs);
      }

      const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!lastTry) throw err instanceof Error ? err : new Error(failure.message);
      if (failure.kind === 'ambiguous') {
        // Twilio may hold the message although the answer was lost: look before calling it failed.
        const found = await findAtTwilio(deps, m, text).catch(() => undefined);
        if (found) {
          await adopt(m, found);
          log.info({ twilioSid: found.sid }, 'last attempt had reached Twilio after all; adopted it');
          return 'adopted';
        }
      }
      await fail(messageId, failure);
      return 'failed';
    }
  };
}
