import type { Message, PrismaClient } from '@smsq/shared';
import type { AcceptedMessage } from './schema.js';

/** How long an Idempotency-Key is kept, for single messages and batch items alike. */
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface Replay {
  bodyHash: string;
  message: Message;
}

/**
 * The messages already recorded under these Idempotency-Keys of one API key, by key. A key older than
 * IDEMPOTENCY_TTL_MS is removed and counts as unused. One query in the common case (no key expired).
 */
export async function findReplays(prisma: PrismaClient, apiKey: string, keys: string[]): Promise<Map<string, Replay>> {
  const found = await prisma.idempotencyKey.findMany({
    where: { apiKey, key: { in: keys } },
    include: { message: true },
  });
  const expiredBefore = Date.now() - IDEMPOTENCY_TTL_MS;
  const expired = found.filter((f) => f.createdAt.getTime() < expiredBefore);
  for (const f of expired) {
    await prisma.idempotencyKey.deleteMany({ where: { apiKey, key: f.key, createdAt: f.createdAt } });
  }
  return new Map(
    found
      .filter((f) => f.createdAt.getTime() >= expiredBefore)
      .map((f) => [f.key, { bodyHash: f.bodyHash, message: f.message }]),
  );
}

export function acceptedView(row: {
  id: string;
  status: AcceptedMessage['status'];
  to: string;
  category: AcceptedMessage['category'];
  segments: number;
  encoding: string;
  createdAt: Date;
  expiresAt: Date;
  sendAt: Date | null | undefined;
  reference: string | null | undefined;
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
    reference: row.reference ?? null,
  };
}
