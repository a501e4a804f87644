import AjvModule from 'ajv';
import addFormats from 'ajv-formats';
import type { CategoryName } from '@smsq/shared';
import type { Caller } from '../access/caller.js';
import { schemaViolation, type ApiError } from '../errors.js';
import type { BatchItemError, BatchItemResult } from './batch-schema.js';
import { acceptMessages, type IntakeDeps, type IntakeItem } from './intake.js';
import { CreateMessageBody } from './schema.js';

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

const asItemError = (err: ApiError): BatchItemError => err.toJSON().error;

export interface BatchOutcome {
  results: BatchItemResult[];
  /** The category of each message this request recorded (replayed items are not among them). */
  acceptedCategories: CategoryName[];
}

/**
 * Up to MAX_BATCH_ITEMS messages, each checked against the single message's schema on its own (its
 * refusal is its result), then taken in by the same path as a single message (acceptMessages): the
 * accepted ones are recorded in one statement and enqueued with one addBulk. With an Idempotency-Key,
 * item i is kept under `<key>#<i>`.
 */
export async function acceptBatch(
  deps: IntakeDeps,
  items: unknown[],
  caller: Caller,
  idempotencyKey?: string,
): Promise<BatchOutcome> {
  const results: BatchItemResult[] = new Array(items.length);
  const valid: { index: number; item: IntakeItem }[] = [];
  items.forEach((item, index) => {
    if (validateItem(item)) {
      valid.push({
        index,
        item: { req: item, ...(idempotencyKey === undefined ? {} : { idempotencyKey: `${idempotencyKey}#${index}` }) },
      });
    } else {
      results[index] = { index, error: asItemError(schemaViolation(validateItem.errors?.[0], 'message')) };
    }
  });
  const outcomes = await acceptMessages(
    deps,
    valid.map((v) => v.item),
    caller,
  );
  const acceptedCategories: CategoryName[] = [];
  valid.forEach(({ index }, k) => {
    const o = outcomes[k]!;
    if (!o.ok) {
      results[index] = { index, error: asItemError(o.error) };
      return;
    }
    results[index] = { index, id: o.value.id, status: o.value.status };
    if (!o.value.replayed) acceptedCategories.push(o.value.category);
  });
  return { results, acceptedCategories };
}
