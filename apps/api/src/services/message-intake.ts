import {
  CATEGORY_PRIORITY,
  DEFAULT_TTL_SECONDS,
  countSegments,
  newMessageId,
  parsePhone,
  type CategoryName,
  type Config,
  type PrismaClient,
  type Queues,
} from '@smsq/shared';
import { ApiError } from '../errors.js';
import type { AcceptedMessage, CreateMessageBody } from '../schemas/messages.js';

export interface IntakeDeps {
  config: Config;
  prisma: PrismaClient;
  queues: Queues;
}

/** Checks a request against policy and turns it into the row to store; throws ApiError when refused. */
function plan(deps: IntakeDeps, req: CreateMessageBody, now: Date) {
  if ((req.to === undefined) === (req.userId === undefined)) {
    throw new ApiError(400, 'validation_failed', 'give exactly one of "to" and "userId"', 'to');
  }
  if ((req.body === undefined) === (req.template === undefined)) {
    throw new ApiError(400, 'validation_failed', 'give exactly one of "body" and "template"', 'body');
  }
  if (req.userId !== undefined) {
    throw new ApiError(404, 'unknown_recipient', `no recipient "${req.userId}"`, 'userId');
  }
  if (req.template !== undefined) {
    throw new ApiError(400, 'unknown_template', `no template "${req.template}"`, 'template');
  }
  const phone = parsePhone(req.to!);
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
  const category: CategoryName = req.category ?? 'transaction';
  const sendAt = req.sendAt ? new Date(req.sendAt) : undefined;
  const startsAt = sendAt && sendAt > now ? sendAt : now;
  const ttlSeconds = req.ttlSeconds ?? DEFAULT_TTL_SECONDS[category];
  const body = req.body!;
  const { segments, encoding } = countSegments(body);
  return {
    id: newMessageId(),
    to: phone.e164,
    body,
    category,
    segments,
    encoding,
    delayMs: startsAt.getTime() - now.getTime(),
    expiresAt: new Date(startsAt.getTime() + ttlSeconds * 1000),
  };
}

/**
 * Records the message (with its `queued` event) in Postgres, then enqueues its id. If the enqueue fails
 * the row is removed again, so a 503 means nothing was recorded.
 */
export async function acceptMessage(
  deps: IntakeDeps,
  req: CreateMessageBody,
  apiKeyName: string,
): Promise<AcceptedMessage> {
  const now = new Date();
  const p = plan(deps, req, now);
  const row = await deps.prisma.message.create({
    data: {
      id: p.id,
      to: p.to,
      body: p.body,
      category: p.category,
      segments: p.segments,
      encoding: p.encoding,
      metadata: (req.metadata as object | undefined) ?? undefined,
      apiKey: apiKeyName,
      createdAt: now,
      updatedAt: now,
      expiresAt: p.expiresAt,
      events: { create: { status: 'queued', source: 'api', at: now } },
    },
  });
  try {
    await deps.queues.send.add(
      'send',
      { messageId: p.id },
      { jobId: p.id, priority: CATEGORY_PRIORITY[p.category], delay: p.delayMs > 0 ? p.delayMs : undefined },
    );
  } catch (err) {
    await deps.prisma.message.delete({ where: { id: p.id } }).catch(() => undefined);
    throw err;
  }
  return {
    id: row.id,
    status: 'queued',
    to: row.to,
    category: p.category,
    segments: row.segments,
    encoding: p.encoding,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}
