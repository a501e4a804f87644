import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import type { Prisma } from '@smsq/shared';
import {
  DEFAULT_TTL_SECONDS,
  TemplateError,
  countSegments,
  newMessageId,
  parsePhone,
  renderTemplate,
  type CategoryName,
  type PhoneNumber,
  type Config,
  type PrismaClient,
  type Queues,
} from '@smsq/shared';
import { SlidingWindowCap } from '../caps/sliding-window-cap.js';
import type { Redis } from 'ioredis';
import { ApiError, parseInstant } from '../errors.js';
import { boundedEnqueue } from './bounded-enqueue.js';
import type { IntakeStore } from './intake-store.js';
import { isUniqueViolation } from './insert.js';
import { admitOtpSend } from '../otp/admission.js';
import { afterQuietHours } from './quiet-hours.js';
import { resolveRecipient, type ResolvedRecipient } from '../recipients/lookup.js';
import type { AcceptedMessage, CreateMessageBody } from './schema.js';

export interface IntakeDeps {
  config: Config;
  prisma: PrismaClient;
  /** The per-recipient cap lives here, so it holds across every API process. */
  redis: Redis;
  queues: Queues;
  intake: IntakeStore;
}

export interface PlannedMessage {
  id: string;
  to: string;
  country: string | undefined;
  userId: string | undefined;
  body: string;
  category: CategoryName;
  template: string | undefined;
  segments: number;
  encoding: string;
  sendAt: Date | undefined;
  delayMs: number;
  expiresAt: Date;
  /** Gives back what planning counted against the caps, when the message is not recorded after all. */
  releaseCaps(): Promise<void>;
}

/**
 * The destination rules every message obeys, whoever asks (messages, batches, OTPs), but the opt-out
 * (admit): a valid number in an allowed country.
 */
function checkDestination(deps: IntakeDeps, to: string): PhoneNumber {
  const phone = parsePhone(to);
  if (!phone) throw new ApiError(400, 'invalid_phone_number', 'not a valid phone number in E.164 form', 'to');
  const allowed = deps.config.allowedCountries;
  if (allowed && (!phone.country || !allowed.has(phone.country))) {
    throw new ApiError(
      422,
      'country_not_allowed',
      `sending to ${phone.country ?? 'this destination'} is not allowed`,
      'to',
    );
  }
  return phone;
}

const optedOut = () => new ApiError(422, 'recipient_opted_out', 'this number has opted out of messages (STOP)', 'to');

/** How far ahead a message may be scheduled: further out, a date is more likely a mistake than a plan. */
export const MAX_SCHEDULE_AHEAD_DAYS = 30;
const HOUR_MS = 3600_000;

interface Content {
  body: string;
  category: CategoryName;
  template: string | undefined;
}

/** The text and category of a request: its own body, or a rendered template (which brings its category). */
function contentOf(req: CreateMessageBody): Content {
  if (req.template === undefined) {
    if (req.data !== undefined) throw new ApiError(400, 'validation_failed', '"data" goes with "template"', 'data');
    return { body: req.body!, category: req.category ?? 'transaction', template: undefined };
  }
  let rendered;
  try {
    rendered = renderTemplate(req.template, req.data);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    const code = err.code === 'invalid_template_data' ? 'validation_failed' : err.code;
    throw new ApiError(400, code, err.message, err.field);
  }
  // The category decides TTL, priority and whether preferences may block it: a caller must not relabel a
  // template (say, marketing as security), and a silent override would hide the mistake.
  if (req.category !== undefined && req.category !== rendered.category) {
    throw new ApiError(
      400,
      'validation_failed',
      `template "${rendered.name}" is ${rendered.category}; leave out "category" or give that one`,
      'category',
    );
  }
  return { body: rendered.body, category: rendered.category, template: rendered.name };
}

/** When the caller wants it sent: now for a time in the past, refused when absurdly far ahead. */
function requestedStart(req: CreateMessageBody, now: Date): Date {
  if (!req.sendAt) return now;
  const sendAt = parseInstant(req.sendAt, 'sendAt');
  if (sendAt.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_DAYS * 24 * HOUR_MS) {
    throw new ApiError(
      400,
      'validation_failed',
      `sendAt may be at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead`,
      'sendAt',
    );
  }
  return sendAt > now ? sendAt : now;
}

/** Marketing to a recipient whose timezone we know waits for their morning. */
function deferForQuietHours(
  deps: IntakeDeps,
  category: CategoryName,
  recipient: ResolvedRecipient | undefined,
  startsAt: Date,
): Date {
  const quiet = deps.config.quietHours;
  if (category !== 'marketing' || !quiet || !recipient?.timezone) return startsAt;
  return afterQuietHours(startsAt, recipient.timezone, quiet);
}

/** At most RECIPIENT_MAX_PER_HOUR messages to one number per rolling hour (codes have their own gate). */
async function countAgainstRecipientCap(deps: IntakeDeps, to: string, now: Date): Promise<() => Promise<void>> {
  const cap = new SlidingWindowCap(
    deps.redis,
    `${deps.config.queuePrefix}:{cap}:recipient`,
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
 * The last checks, once every other one passed: not opted out, then counted against the caps, so a refused
 * request costs nothing. Codes have their own gate (OTP cap and pumping guard), looked at once the number
 * is known not to be opted out, since the guard's count of the number's range is not given back. For
 * everything else the opt-out lookup (Postgres) and the cap (Redis) are asked at once, which takes a round
 * trip off every request; a hit counted for an opted-out number is given back. Answers the caps' release.
 */
async function admit(deps: IntakeDeps, category: CategoryName, to: string, now: Date): Promise<() => Promise<void>> {
  if (category === 'otp') {
    if (await deps.intake.isOptedOut(to)) throw optedOut();
    return admitOtpSend(deps, to, now);
  }
  const [out, cap] = await Promise.allSettled([deps.intake.isOptedOut(to), countAgainstRecipientCap(deps, to, now)]);
  if (out.status === 'rejected' || out.value) {
    if (cap.status === 'fulfilled') await cap.value().catch(() => undefined);
    throw out.status === 'rejected' ? out.reason : optedOut();
  }
  if (cap.status === 'rejected') throw cap.reason;
  return cap.value;
}

/**
 * Checks a request against policy and turns it into the row to store; throws ApiError when refused.
 * Nothing is recorded in Postgres until the caller stores the plan; the last step counts the message
 * against its caps in Redis.
 */
export async function planMessage(deps: IntakeDeps, req: CreateMessageBody, now: Date): Promise<PlannedMessage> {
  if ((req.to === undefined) === (req.userId === undefined)) {
    throw new ApiError(400, 'validation_failed', 'give exactly one of "to" and "userId"', 'to');
  }
  if ((req.body === undefined) === (req.template === undefined)) {
    throw new ApiError(400, 'validation_failed', 'give exactly one of "body" and "template"', 'body');
  }
  const { body, category, template } = contentOf(req);
  const requested = requestedStart(req, now);
  const recipient = req.userId === undefined ? undefined : await resolveRecipient(deps.prisma, req.userId, category);
  const phone = checkDestination(deps, recipient?.phone ?? req.to!);
  const startsAt = deferForQuietHours(deps, category, recipient, requested);
  const ttlSeconds = req.ttlSeconds ?? DEFAULT_TTL_SECONDS[category];
  const { segments, encoding } = countSegments(body);
  const releaseCaps = await admit(deps, category, phone.e164, now);
  return {
    id: newMessageId(),
    to: phone.e164,
    country: phone.country,
    userId: req.userId,
    body,
    category,
    template,
    segments,
    encoding,
    sendAt: startsAt > now ? startsAt : undefined,
    delayMs: startsAt.getTime() - now.getTime(),
    expiresAt: new Date(startsAt.getTime() + ttlSeconds * 1000),
    releaseCaps: () => releaseCaps().catch(() => undefined),
  };
}

/** The `messages` row for a plan (without its events), for single and multi-row inserts alike. */
export function messageRow(
  p: PlannedMessage,
  metadata: unknown,
  apiKeyName: string,
  now: Date,
): Prisma.MessageCreateManyInput {
  return {
    id: p.id,
    to: p.to,
    country: p.country,
    userId: p.userId,
    body: p.body,
    category: p.category,
    template: p.template,
    segments: p.segments,
    encoding: p.encoding,
    metadata: (metadata as Prisma.InputJsonValue | undefined) ?? undefined,
    apiKey: apiKeyName,
    createdAt: now,
    updatedAt: now,
    expiresAt: p.expiresAt,
    sendAt: p.sendAt,
  };
}

/** How long an Idempotency-Key is kept, for single messages and batch items alike. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface Acceptance {
  message: AcceptedMessage;
  /** An earlier request with the same Idempotency-Key and body: nothing new was recorded. */
  replayed: boolean;
}

function acceptedView(row: {
  id: string;
  status: AcceptedMessage['status'];
  to: string;
  category: AcceptedMessage['category'];
  segments: number;
  encoding: string;
  createdAt: Date;
  expiresAt: Date;
  sendAt: Date | null;
}): AcceptedMessage {
  return {
    id: row.id,
    status: row.status,
    to: row.to,
    category: row.category,
    segments: row.segments,
    encoding: row.encoding === 'UCS-2' ? 'UCS-2' : 'GSM-7',
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    sendAt: row.sendAt?.toISOString() ?? null,
  };
}

async function replay(
  deps: IntakeDeps,
  apiKey: string,
  key: string,
  bodyHash: string,
): Promise<Acceptance | undefined> {
  const found = await deps.prisma.idempotencyKey.findUnique({
    where: { apiKey_key: { apiKey, key } },
    include: { message: true },
  });
  if (!found) return undefined;
  if (found.createdAt.getTime() < Date.now() - IDEMPOTENCY_TTL_MS) {
    await deps.prisma.idempotencyKey.deleteMany({ where: { apiKey, key, createdAt: found.createdAt } });
    return undefined;
  }
  if (found.bodyHash !== bodyHash) {
    throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was used with a different body');
  }
  return { message: acceptedView(found.message), replayed: true };
}

/**
 * Records the message (with its `queued` event, and its Idempotency-Key when given) in one transaction,
 * then enqueues its id. If the enqueue fails the row is removed again, so a 503 means nothing was
 * recorded. Two racing requests with one key: the key's primary key lets one insert win; the other
 * rolls back and answers with the winner's message.
 */
export async function acceptMessage(
  deps: IntakeDeps,
  req: CreateMessageBody,
  apiKeyName: string,
  idempotencyKey?: string,
): Promise<Acceptance> {
  const bodyHash = idempotencyKey ? createHash('sha256').update(stringify(req)).digest('hex') : '';
  if (idempotencyKey) {
    const earlier = await replay(deps, apiKeyName, idempotencyKey, bodyHash);
    if (earlier) return earlier;
  }
  const now = new Date();
  const p = await planMessage(deps, req, now);
  try {
    // One statement (message, queued event, key), shared with the requests in flight beside this one.
    await deps.intake.insert(
      messageRow(p, req.metadata, apiKeyName, now),
      idempotencyKey
        ? { apiKey: apiKeyName, key: idempotencyKey, bodyHash, messageId: p.id, createdAt: now }
        : undefined,
    );
  } catch (err) {
    await p.releaseCaps(); // nothing was recorded (or the racing twin was): this request sends nothing
    if (idempotencyKey && isUniqueViolation(err)) {
      const winner = await replay(deps, apiKeyName, idempotencyKey, bodyHash);
      if (winner) return winner;
    }
    throw err;
  }
  try {
    await enqueueSend(deps, p.id, p.category, p.delayMs);
  } catch (err) {
    // Only while still queued: an add that landed late may already have been taken by a worker, and a
    // message on its way must be answered as accepted, not deleted under it and refused.
    const { count } = await deps.prisma.message
      .deleteMany({ where: { id: p.id, status: 'queued' } })
      .catch(() => ({ count: 0 }));
    if (count === 1) await p.releaseCaps();
    const current =
      count === 0 ? await deps.prisma.message.findUnique({ where: { id: p.id } }).catch(() => null) : null;
    if (!current || current.status === 'queued') throw err;
  }
  return {
    message: acceptedView({ ...p, sendAt: p.sendAt ?? null, status: 'queued', createdAt: now }),
    replayed: false,
  };
}

function enqueueSend(deps: Pick<IntakeDeps, 'intake'>, messageId: string, category: CategoryName, delayMs: number) {
  return boundedEnqueue(deps.intake.enqueue({ messageId, category, delayMs }));
}
