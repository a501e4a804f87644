import type { MessageSealer, Prisma, PrismaClient } from '@smsq/shared';
import { unavailable, type ApiError } from '../errors.js';
import type { Admitted } from './admit.js';
import { boundedEnqueue } from './bounded-enqueue.js';
import type { IdempotencyRow, MessageRow } from './insert.js';
import type { IntakeStore } from './intake-store.js';

export interface RecordDeps {
  prisma: PrismaClient;
  intake: IntakeStore;
  sealer: MessageSealer;
}

/** The `messages` row of an admitted message (its `queued` event goes with it in insertMessages). */
export function messageRow(
  sealer: Pick<MessageSealer, 'seal'>,
  m: Admitted,
  apiKeyName: string,
  now: Date,
): MessageRow {
  return {
    id: m.id,
    to: m.to,
    country: m.country,
    userId: m.userId,
    body: m.body,
    sealedBody: m.secretBody === undefined ? undefined : sealer.seal(m.id, m.secretBody),
    category: m.category,
    template: m.template,
    segments: m.segments,
    encoding: m.encoding,
    metadata: m.metadata as Prisma.InputJsonValue | undefined,
    apiKey: apiKeyName,
    createdAt: now,
    updatedAt: now,
    expiresAt: m.expiresAt,
    sendAt: m.sendAt,
  };
}

/** Per message: recorded and on its way, or refused with this error (nothing of it is kept). */
export type RecordOutcome = { ok: true } | { ok: false; error: ApiError };

/**
 * Removes the messages still `queued` and answers which it removed; undefined when it could not tell.
 * One that is no longer queued was taken by a worker: the add that failed had landed after all (its reply
 * was lost), and a message on its way must be answered as accepted, not deleted under the worker.
 */
async function deleteStillQueued(prisma: PrismaClient, ids: string[]): Promise<Set<string> | undefined> {
  try {
    const rows = await prisma.$queryRaw<{ id: string }[]>`
      DELETE FROM messages WHERE id = ANY(${ids}::uuid[]) AND status = 'queued' RETURNING id`;
    return new Set(rows.map((r) => r.id));
  } catch {
    return undefined;
  }
}

/**
 * Records admitted messages (with their Idempotency-Keys) in one statement, then enqueues them with one
 * `addBulk`, for one message or a whole batch alike. What was not recorded gives its counts back. When the
 * enqueue fails, the messages still queued are removed again and refused, each giving its counts back;
 * those a worker already took are answered as accepted. If none was taken, or the removal itself failed
 * (a row left behind is sent by the reconciler and keeps its counts), the enqueue's error is thrown.
 * An insert's error (a duplicate Idempotency-Key among them) is thrown after every count was given back.
 */
export async function recordAndEnqueue(
  deps: RecordDeps,
  messages: Admitted[],
  keys: IdempotencyRow[],
  apiKeyName: string,
  now: Date,
): Promise<RecordOutcome[]> {
  try {
    await deps.intake.insert(
      messages.map((m) => messageRow(deps.sealer, m, apiKeyName, now)),
      keys,
    );
  } catch (err) {
    await Promise.all(messages.map((m) => m.release()));
    throw err;
  }
  try {
    await boundedEnqueue(deps.intake.enqueue(messages.map((m) => ({ messageId: m.id, ...m }))));
    return messages.map(() => ({ ok: true }));
  } catch (err) {
    const removed = await deleteStillQueued(
      deps.prisma,
      messages.map((m) => m.id),
    );
    if (!removed) throw err;
    await Promise.all(messages.filter((m) => removed.has(m.id)).map((m) => m.release()));
    if (removed.size === messages.length) throw err;
    const refused = unavailable('the queue');
    return messages.map((m) => (removed.has(m.id) ? { ok: false, error: refused } : { ok: true }));
  }
}
