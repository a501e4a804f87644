import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import {
  CATEGORY_PRIORITY,
  Prisma,
  DEFAULT_TTL_SECONDS,
  countSegments,
  isOptedOut,
  newMessageId,
  parsePhone,
  type CategoryName,
  type PhoneNumber,
  type Config,
  type PrismaClient,
  type Queues,
} from '@smsq/shared';
import { ApiError } from '../errors.js';
import { boundedEnqueue } from './bounded-enqueue.js';
import { resolveRecipient } from './recipients-lookup.js';
import type { AcceptedMessage, CreateMessageBody } from '../schemas/messages.js';

export interface IntakeDeps {
  config: Config;
  prisma: PrismaClient;
  queues: Queues;
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
}

/**
 * The destination rules every message obeys, whoever asks (messages, batches, OTPs): a valid number, an
 * allowed country, not opted out.
 */
export async function checkDestination(deps: IntakeDeps, to: string): Promise<PhoneNumber> {
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
  if (await isOptedOut(deps.prisma, phone.e164)) {
    throw new ApiError(422, 'recipient_opted_out', 'this number has opted out of messages (STOP)', 'to');
  }
  return phone;
}

/**
 * Checks a request against policy and turns it into the row to store; throws ApiError when refused.
 * Reads only: nothing is recorded until the caller stores the plan.
 */
export async function planMessage(deps: IntakeDeps, req: CreateMessageBody, now: Date): Promise<PlannedMessage> {
  if ((req.to === undefined) === (req.userId === undefined)) {
    throw new ApiError(400, 'validation_failed', 'give exactly one of "to" and "userId"', 'to');
  }
  if ((req.body === undefined) === (req.template === undefined)) {
    throw new ApiError(400, 'validation_failed', 'give exactly one of "body" and "template"', 'body');
  }
  if (req.template !== undefined) {
    throw new ApiError(400, 'unknown_template', `no template "${req.template}"`, 'template');
  }
  const category: CategoryName = req.category ?? 'transaction';
  const recipient = req.userId === undefined ? undefined : await resolveRecipient(deps.prisma, req.userId, category);
  const phone = await checkDestination(deps, recipient?.phone ?? req.to!);
  const sendAt = req.sendAt ? new Date(req.sendAt) : undefined;
  const startsAt = sendAt && sendAt > now ? sendAt : now;
  const ttlSeconds = req.ttlSeconds ?? DEFAULT_TTL_SECONDS[category];
  const body = req.body!;
  const { segments, encoding } = countSegments(body);
  return {
    id: newMessageId(),
    to: phone.e164,
    country: phone.country,
    userId: req.userId,
    body,
    category,
    template: undefined,
    segments,
    encoding,
    sendAt: startsAt > now ? startsAt : undefined,
    delayMs: startsAt.getTime() - now.getTime(),
    expiresAt: new Date(startsAt.getTime() + ttlSeconds * 1000),
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

const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

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

const isUniqueViolation = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

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
  const create = deps.prisma.message.create({
    data: {
      ...messageRow(p, req.metadata, apiKeyName, now),
      events: { create: { status: 'queued', source: 'api', at: now } },
    },
  });
  let row;
  try {
    [row] = idempotencyKey
      ? await deps.prisma.$transaction([
          create,
          deps.prisma.idempotencyKey.create({
            data: { apiKey: apiKeyName, key: idempotencyKey, bodyHash, messageId: p.id, createdAt: now },
          }),
        ])
      : [await create];
  } catch (err) {
    if (idempotencyKey && isUniqueViolation(err)) {
      const winner = await replay(deps, apiKeyName, idempotencyKey, bodyHash);
      if (winner) return winner;
    }
    throw err;
  }
  try {
    await enqueueSend(deps, p.id, p.category, p.delayMs);
  } catch (err) {
    await deps.prisma.message.delete({ where: { id: p.id } }).catch(() => undefined);
    throw err;
  }
  return { message: acceptedView(row), replayed: false };
}

export function enqueueSend(deps: Pick<IntakeDeps, 'queues'>, id: string, category: CategoryName, delayMs: number) {
  return boundedEnqueue(
    deps.queues.send.add(
      'send',
      { messageId: id },
      { jobId: id, priority: CATEGORY_PRIORITY[category], delay: delayMs > 0 ? delayMs : undefined },
    ),
  );
}
