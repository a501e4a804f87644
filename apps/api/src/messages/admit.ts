import { Coalescer, newMessageId, type CategoryName, type Config, type PrismaClient } from '@smsq/shared';
import type { RedisClient } from '@smsq/shared';
import { isTest, type Caller } from '../access/caller.js';
import type { DailyBudget } from '../caps/daily-budget.js';
import { SlidingWindowCap } from '../caps/sliding-window-cap.js';
import { ApiError } from '../errors.js';
import { admitOtpSend } from '../otp/admission.js';
import { resolveRecipient } from '../recipients/lookup.js';
import { checkDestination, type Draft } from './plan.js';
import { afterQuietHours } from './quiet-hours.js';

export interface AdmitDeps {
  config: Config;
  prisma: PrismaClient;
  /** The caps and the pumping guard live here, so they hold across every API process. */
  redis: RedisClient;
  optOuts: OptOutLookup;
  budget: DailyBudget;
}

/**
 * Whether numbers have opted out (STOP), the lookups of every request in flight in one statement: a busy
 * API pays one query for many messages instead of one each.
 */
export class OptOutLookup {
  private readonly lookups: Coalescer<string, boolean>;

  constructor(prisma: PrismaClient) {
    this.lookups = new Coalescer(
      async (phones) => {
        const rows = await prisma.$queryRaw<{ phone: string }[]>`
          SELECT phone FROM opt_outs WHERE phone = ANY(${phones}::text[]) AND opted_out`;
        const out = new Set(rows.map((r) => r.phone));
        return phones.map((p) => ({ ok: true, value: out.has(p) }));
      },
      { maxBatch: 256, maxInFlight: 2 },
    );
  }

  isOptedOut(phone: string): Promise<boolean> {
    return this.lookups.submit(phone);
  }
}

/** A draft that passed every check against Redis and Postgres: the message to record. */
export interface Admitted extends Draft {
  id: string;
  to: string;
  country: string | undefined;
  sendAt: Date | undefined;
  delayMs: number;
  expiresAt: Date;
  /** Gives back every count admission took (caps, the pumping guard): the message was not recorded. */
  release(): Promise<void>;
}

const HOUR_MS = 3600_000;

const optedOut = () => new ApiError(422, 'recipient_opted_out', 'this number has opted out of messages (STOP)', 'to');

/** At most RECIPIENT_MAX_PER_HOUR messages to one number per rolling hour (codes have their own gate). */
async function countAgainstRecipientCap(deps: AdmitDeps, to: string, now: Date): Promise<() => Promise<void>> {
  const cap = new SlidingWindowCap(
    deps.redis,
    `${deps.config.queuePrefix}:cap:recipient`,
    deps.config.recipientMaxPerHour,
    HOUR_MS,
  );
  const hit = await cap.hit(to, now.getTime());
  if (!hit.allowed) {
    throw new ApiError(
      429,
      'rate_limited',
      `this number has had ${deps.config.recipientMaxPerHour} messages in the last hour; try again later`,
      'to',
      { 'retry-after': String(hit.retryAfterSeconds) },
    );
  }
  return hit.release;
}

/**
 * Not opted out, then counted against the caps, so a refused request costs nothing. Codes have their own
 * gate (OTP cap and pumping guard), looked at once the number is known not to be opted out. For everything
 * else the opt-out lookup (Postgres) and the cap (Redis) are asked at once, which takes a round trip off
 * every request; a hit counted for an opted-out number is given back. Answers the release of the counts.
 */
async function countAgainstCaps(
  deps: AdmitDeps,
  category: CategoryName,
  to: string,
  now: Date,
): Promise<() => Promise<void>> {
  if (category === 'otp') {
    if (await deps.optOuts.isOptedOut(to)) throw optedOut();
    return admitOtpSend(deps, to, now);
  }
  const [out, cap] = await Promise.allSettled([deps.optOuts.isOptedOut(to), countAgainstRecipientCap(deps, to, now)]);
  if (out.status === 'rejected' || out.value) {
    if (cap.status === 'fulfilled') await cap.value().catch(() => undefined);
    throw out.status === 'rejected' ? out.reason : optedOut();
  }
  if (cap.status === 'rejected') throw cap.reason;
  return cap.value;
}

/** Test traffic is refused as live traffic would be, but counts against nothing (caps, guard, budget). */
async function checkOptOutOnly(deps: AdmitDeps, to: string): Promise<() => Promise<void>> {
  if (await deps.optOuts.isOptedOut(to)) throw optedOut();
  return async () => undefined;
}

/** The caps, then the service's daily budget; one release gives back all that was counted. */
async function countAgainstLimits(
  deps: AdmitDeps,
  draft: Draft,
  to: string,
  now: Date,
  caller: Caller,
): Promise<() => Promise<void>> {
  const releaseCaps = await countAgainstCaps(deps, draft.category, to, now);
  const limit = caller.service.dailySegmentLimit;
  if (limit === null) return releaseCaps;
  try {
    const hit = await deps.budget.take(caller.service, limit, draft.segments, now.getTime());
    return async () => {
      await Promise.all([releaseCaps(), hit.release()]);
    };
  } catch (err) {
    await releaseCaps().catch(() => undefined);
    throw err;
  }
}

/**
 * The checks that ask Redis and Postgres, last so that a request refused earlier costs nothing: the
 * recipient and their preferences (for a `userId`), the destination rule for their number, quiet hours
 * for marketing, the opt-out, then the caps and the service's budget (not for test traffic). Throws
 * ApiError when refused.
 */
export async function admitMessage(deps: AdmitDeps, draft: Draft, now: Date, caller: Caller): Promise<Admitted> {
  const recipient =
    draft.userId === undefined ? undefined : await resolveRecipient(deps.prisma, draft.userId, draft.category);
  const phone = draft.phone ?? checkDestination(deps.config.allowedCountries, recipient!.phone);
  const quiet = deps.config.quietHours;
  const startsAt =
    draft.category === 'marketing' && quiet && recipient?.timezone
      ? afterQuietHours(draft.requestedStart, recipient.timezone, quiet)
      : draft.requestedStart;
  const release = isTest(caller)
    ? await checkOptOutOnly(deps, phone.e164)
    : await countAgainstLimits(deps, draft, phone.e164, now, caller);
  // Field by field, not `...draft`: a spread of drafts of varying shapes kept this function from being
  // optimised (a fifth more API CPU per batched message).
  return {
    phone: draft.phone,
    userId: draft.userId,
    body: draft.body,
    secretBody: draft.secretBody,
    category: draft.category,
    template: draft.template,
    segments: draft.segments,
    encoding: draft.encoding,
    requestedStart: draft.requestedStart,
    ttlSeconds: draft.ttlSeconds,
    metadata: draft.metadata,
    reference: draft.reference,
    id: newMessageId(),
    to: phone.e164,
    country: phone.country,
    sendAt: startsAt > now ? startsAt : undefined,
    delayMs: startsAt.getTime() - now.getTime(),
    expiresAt: new Date(startsAt.getTime() + draft.ttlSeconds * 1000),
    release: () => release().catch(() => undefined),
  };
}
