import { createHash } from 'node:crypto';
import AjvModule from 'ajv';
import addFormats from 'ajv-formats';
import pLimit from 'p-limit';
import stringify from 'safe-stable-stringify';
import { sendJob, type CategoryName } from '@smsq/shared';
import { ApiError, schemaViolation } from '../errors.js';
import { CreateMessageBody } from './schema.js';
import type { BatchItemError, BatchItemResult } from './batch-schema.js';
import { boundedEnqueue } from './bounded-enqueue.js';
import { insertMessages, isUniqueViolation } from './insert.js';
import { IDEMPOTENCY_TTL_MS, messageRow, planMessage, type IntakeDeps, type PlannedMessage } from './intake.js';

// The same options Fastify gives the single-message route, so an item is judged exactly as it would be alone.
// ajv is CommonJS: its class is the default export's `default` under Node's ESM loader and tsx alike.
const ajv = new AjvModule.default({
  coerceTypes: 'array',
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
});
addFormats.default(ajv);
const validateItem = ajv.compile<CreateMessageBody>(CreateMessageBody);

/**
 * Items planned at once. Their round trips (opt-out lookups, cap hits, recipients) are shared (Coalescer,
 * Prisma's findUnique batching), so a batch pays a few statements per 128 items: with 16 at once a batch of
 * 500 was 32 rounds of waiting, and the API idled between them (1.8× the floor instead of 2.2×). Not all
 * 1000 at once: the lookups of single requests that arrive meanwhile join the next round, not the end.
 */
const PLAN_CONCURRENCY = 128;

const asItemError = (err: ApiError): BatchItemError => err.toJSON().error;

interface Accepted {
  index: number;
  plan: PlannedMessage;
  metadata: unknown;
  bodyHash: string;
}

/** Items already recorded under this batch's Idempotency-Key (`<key>#<index>`), by index. */
async function replayed(
  deps: IntakeDeps,
  apiKey: string,
  idempotencyKey: string,
  hashes: Map<number, string>,
): Promise<Map<number, BatchItemResult>> {
  const keys = [...hashes.keys()].map((i) => `${idempotencyKey}#${i}`);
  const expired = new Date(Date.now() - IDEMPOTENCY_TTL_MS);
  await deps.prisma.idempotencyKey.deleteMany({ where: { apiKey, key: { in: keys }, createdAt: { lt: expired } } });
  const found = await deps.prisma.idempotencyKey.findMany({
    where: { apiKey, key: { in: keys } },
    select: { key: true, bodyHash: true, message: { select: { id: true, status: true } } },
  });
  const out = new Map<number, BatchItemResult>();
  for (const row of found) {
    const index = Number(row.key.slice(idempotencyKey.length + 1));
    out.set(
      index,
      row.bodyHash === hashes.get(index)
        ? { index, id: row.message.id, status: row.message.status }
        : {
            index,
            error: {
              code: 'idempotency_conflict',
              message: 'this Idempotency-Key was used with a different message at this index',
            },
          },
    );
  }
  return out;
}

/**
 * Accepts up to MAX_BATCH_ITEMS messages: each is validated and planned on its own (its refusal is
 * its result), the accepted ones are recorded in one transaction of multi-row inserts and enqueued
 * with one atomic addBulk. If the enqueue fails the rows are removed again and the whole request is
 * a 503, so a batch is never half recorded.
 */
export interface BatchOutcome {
  results: BatchItemResult[];
  /** The category of each message this request recorded (replayed items are not among them). */
  acceptedCategories: CategoryName[];
}

export async function acceptBatch(
  deps: IntakeDeps,
  items: unknown[],
  apiKeyName: string,
  idempotencyKey?: string,
  raced = false,
): Promise<BatchOutcome> {
  const now = new Date();
  const results: (BatchItemResult | undefined)[] = new Array(items.length);
  const valid = new Map<number, CreateMessageBody>();
  items.forEach((item, index) => {
    if (validateItem(item)) valid.set(index, item);
    else results[index] = { index, error: asItemError(schemaViolation(validateItem.errors?.[0], 'message')) };
  });

  const hashes = new Map<number, string>();
  if (idempotencyKey) {
    for (const [index, item] of valid) hashes.set(index, createHash('sha256').update(stringify(item)).digest('hex'));
    for (const [index, result] of await replayed(deps, apiKeyName, idempotencyKey, hashes)) {
      results[index] = result;
      valid.delete(index);
    }
  }

  const limit = pLimit(PLAN_CONCURRENCY);
  const accepted: Accepted[] = [];
  // Every item is let finish, so a store failure in one does not leave the others' cap slots counted.
  const planned = await Promise.allSettled(
    [...valid].map(([index, item]) =>
      limit(async () => {
        try {
          const plan = await planMessage(deps, item, now);
          accepted.push({ index, plan, metadata: item.metadata, bodyHash: hashes.get(index) ?? '' });
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          results[index] = { index, error: asItemError(err) };
        }
      }),
    ),
  );
  const failed = planned.find((p) => p.status === 'rejected');
  if (failed) {
    await Promise.all(accepted.map((a) => a.plan.releaseCaps()));
    throw failed.reason;
  }

  if (accepted.length > 0) {
    try {
      await record(deps, accepted, apiKeyName, now, idempotencyKey);
    } catch (err) {
      // Nothing of this attempt was recorded: its cap slots go back (a raced retry counts afresh).
      await Promise.all(accepted.map((a) => a.plan.releaseCaps()));
      // The same batch raced itself: the winner's records are now there to replay.
      if (idempotencyKey && !raced && isUniqueViolation(err)) {
        return acceptBatch(deps, items, apiKeyName, idempotencyKey, true);
      }
      throw err;
    }
    await enqueue(deps, accepted);
    for (const a of accepted) results[a.index] = { index: a.index, id: a.plan.id, status: 'queued' };
  }
  return { results: results as BatchItemResult[], acceptedCategories: accepted.map((a) => a.plan.category) };
}

function record(deps: IntakeDeps, accepted: Accepted[], apiKeyName: string, now: Date, idempotencyKey?: string) {
  return insertMessages(
    deps.prisma,
    accepted.map((a) => messageRow(a.plan, a.metadata, apiKeyName, now)),
    idempotencyKey
      ? accepted.map((a) => ({
          apiKey: apiKeyName,
          key: `${idempotencyKey}#${a.index}`,
          bodyHash: a.bodyHash,
          messageId: a.plan.id,
          createdAt: now,
        }))
      : [],
  );
}

async function enqueue(deps: IntakeDeps, accepted: Accepted[]) {
  try {
    await boundedEnqueue(
      deps.queues.send.addBulk(accepted.map(({ plan }) => sendJob(plan.id, plan.category, plan.delayMs))),
    );
  } catch (err) {
    const removed = await deps.prisma.message
      .deleteMany({ where: { id: { in: accepted.map((a) => a.plan.id) } } })
      .then(() => true)
      .catch(() => false);
    // Only once the rows are surely gone: a row left behind is sent by the reconciler and keeps its slot.
    if (removed) await Promise.all(accepted.map((a) => a.plan.releaseCaps()));
    throw err;
  }
}
