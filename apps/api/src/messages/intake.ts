import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import stringify from 'safe-stable-stringify';
import { idempotencyOwner, type Caller } from '../access/caller.js';
import { ApiError } from '../errors.js';
import { admitMessage, type AdmitDeps, type Admitted } from './admit.js';
import { planMessage } from './plan.js';
import { isUniqueViolation, type IdempotencyRow, type MessageRecorder } from './record.js';
import { acceptedView, findReplays } from './replay.js';
import type { AcceptedMessage, CreateMessageBody } from './schema.js';
import type { Queues } from '@smsq/shared';

export interface IntakeDeps extends AdmitDeps {
  queues: Queues;
  recorder: MessageRecorder;
}

/**
 * Items admitted at once. Their round trips (opt-out lookups, cap hits, recipients) are shared (Coalescer,
 * Prisma's findUnique batching), so a batch pays a few statements per 128 items: with 16 at once a batch of
 * 500 was 32 rounds of waiting, and the API idled between them (1.8× the floor instead of 2.2×). Not all
 * 1000 at once: the lookups of single requests that arrive meanwhile join the next round, not the end.
 */
const ADMIT_CONCURRENCY = 128;

/** One message a request asks for: a single POST's body, a batch's item, an OTP's SMS. */
export interface IntakeItem {
  req: CreateMessageBody;
  /** Where it is kept when the request has an Idempotency-Key (a batch's item i: `<key>#<i>`). */
  idempotencyKey?: string;
  /** The text to send when `req.body` is its masked form (an OTP's): stored sealed only. */
  secretBody?: string;
}

export interface Acceptance {
  id: string;
  status: AcceptedMessage['status'];
  category: AcceptedMessage['category'];
  /** An earlier request with the same Idempotency-Key and body: nothing new was recorded. */
  replayed: boolean;
  /** The message as a single POST answers it, built when asked (a batch answers only id and status). */
  readonly message: AcceptedMessage;
  /** Gives back what admission counted (caps, guard, budget), for a caller that cancels it at once. */
  release(): Promise<void>;
}

function acceptance(
  row: Parameters<typeof acceptedView>[0],
  replayed: boolean,
  release: () => Promise<void> = async () => undefined,
): Acceptance {
  let view: AcceptedMessage | undefined;
  return {
    id: row.id,
    status: row.status,
    category: row.category,
    replayed,
    release,
    get message() {
      return (view ??= acceptedView(row));
    },
  };
}

/** Each item's answer: accepted (now or by an earlier request), or refused with its own error. */
export type ItemOutcome = { ok: true; value: Acceptance } | { ok: false; error: ApiError };

const bodyHashOf = (req: CreateMessageBody) => createHash('sha256').update(stringify(req)).digest('hex');

/**
 * The one way in for every message, alone or in a batch: an item already recorded under its
 * Idempotency-Key is answered from that record; the rest are planned (pure: plan.ts), admitted against
 * Redis and Postgres (admit.ts), then recorded and enqueued together (record.ts). An item refused by a
 * rule gets its own error; a store failure before anything was recorded gives back every count taken and
 * throws. Two racing requests with one key: one insert wins, the other gives everything back and answers
 * from the winner's record.
 */
export async function acceptMessages(
  deps: IntakeDeps,
  items: IntakeItem[],
  caller: Caller,
  raced = false,
): Promise<ItemOutcome[]> {
  const owner = idempotencyOwner(caller);
  const outcomes = new Array<ItemOutcome | undefined>(items.length);
  const hashes = items.map((it) => (it.idempotencyKey === undefined ? '' : bodyHashOf(it.req)));
  const keyed = items.flatMap((it, i) => (it.idempotencyKey === undefined ? [] : [i]));
  if (keyed.length > 0) {
    const replays = await findReplays(
      deps.prisma,
      owner,
      keyed.map((i) => items[i]!.idempotencyKey!),
    );
    for (const i of keyed) {
      const earlier = replays.get(items[i]!.idempotencyKey!);
      if (!earlier) continue;
      outcomes[i] =
        earlier.bodyHash === hashes[i]
          ? { ok: true, value: acceptance(earlier.message, true) }
          : {
              ok: false,
              error: new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was used with a different body'),
            };
    }
  }

  const now = new Date();
  const admitted: { index: number; message: Admitted }[] = [];
  const limit = pLimit(ADMIT_CONCURRENCY);
  // Every item is let finish, so a store failure in one does not leave the others' counts taken.
  const settled = await Promise.allSettled(
    items.map((item, index) =>
      outcomes[index]
        ? undefined
        : limit(async () => {
            try {
              const draft = planMessage(deps.config, item.req, now, item.secretBody);
              admitted.push({ index, message: await admitMessage(deps, draft, now, caller) });
            } catch (err) {
              if (!(err instanceof ApiError)) throw err;
              outcomes[index] = { ok: false, error: err };
            }
          }),
    ),
  );
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(admitted.map((a) => a.message.release()));
    throw failed.reason;
  }
  if (admitted.length === 0) return outcomes as ItemOutcome[];

  const keys: IdempotencyRow[] = admitted.flatMap(({ index, message }) => {
    const key = items[index]!.idempotencyKey;
    return key === undefined
      ? []
      : [{ apiKey: owner, key, bodyHash: hashes[index]!, messageId: message.id, createdAt: now }];
  });
  let recorded;
  try {
    recorded = await deps.recorder.record(
      admitted.map((a) => a.message),
      keys,
      caller,
      now,
    );
  } catch (err) {
    // The same key raced another request (or this batch itself): the winner's records are now there.
    if (keys.length > 0 && !raced && isUniqueViolation(err)) return acceptMessages(deps, items, caller, true);
    throw err;
  }
  admitted.forEach(({ index, message }, k) => {
    const r = recorded[k]!;
    outcomes[index] = r.ok
      ? {
          ok: true,
          value: acceptance(
            {
              id: message.id,
              status: 'queued',
              to: message.to,
              category: message.category,
              segments: message.segments,
              encoding: message.encoding,
              createdAt: now,
              expiresAt: message.expiresAt,
              sendAt: message.sendAt,
              reference: message.reference,
            },
            false,
            message.release,
          ),
        }
      : r;
  });
  return outcomes as ItemOutcome[];
}

/** A single message: a batch of one whose refusal is the request's error. */
export async function acceptMessage(deps: IntakeDeps, item: IntakeItem, caller: Caller): Promise<Acceptance> {
  const [outcome] = await acceptMessages(deps, [item], caller);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value;
}
