import {
  Coalescer,
  applyStatusCallbacks,
  isSenderOverload,
  oneCallOrEach,
  type CallbackOutcome,
  type Logger,
  type PrismaClient,
  type Queues,
  type StatusCallback,
  within,
} from '@smsq/shared';
import { boundedEnqueue } from '../messages/bounded-enqueue.js';

/**
 * How long a callback waits for its statement before it goes to the queue instead: far above a commit
 * under load, and with the enqueue's own bound well inside the 15 s Twilio gives a callback.
 */
const APPLY_TIMEOUT_MS = 3000;
/** Callbacks per statement; under load a flush carries what arrived during the previous one. */
const MAX_BATCH = 200;

export interface StatusCallbackDeps {
  prisma: PrismaClient;
  queues: Queues;
  logger: Pick<Logger, 'warn' | 'error'>;
}

export type TakenAs = CallbackOutcome | 'queued';

/**
 * Takes Twilio's status callbacks for the webhook. The API applies them in Postgres itself, the callbacks
 * that arrive together in one statement (a round trip and a commit for many, instead of a queued job and
 * a statement each in the worker). Two kinds go to the worker's status queue instead: a 30001, since the
 * worker owns the sender's rate and its slow-down metrics, and any callback Postgres did not take (down,
 * or too slow to answer); applying a callback twice changes nothing, so a late commit does no harm.
 */
export class StatusCallbacks {
  private readonly coalescer: Coalescer<StatusCallback, CallbackOutcome>;

  constructor(private readonly deps: StatusCallbackDeps) {
    // A statement that fails is retried per callback, so one that Postgres refuses fails alone.
    this.coalescer = new Coalescer(
      (items) => oneCallOrEach(items, (batch) => applyStatusCallbacks(deps.prisma, batch, deps.logger)),
      { maxBatch: MAX_BATCH },
    );
  }

  /** Resolves once the callback is durably taken: committed in Postgres, or else queued in Redis. */
  async take(callback: StatusCallback): Promise<TakenAs> {
    if (!isSenderOverload(callback.errorCode)) {
      try {
        return await within(
          this.coalescer.submit(callback),
          APPLY_TIMEOUT_MS,
          () => new Error(`no answer from Postgres in ${APPLY_TIMEOUT_MS} ms`),
        );
      } catch (err) {
        this.deps.logger.warn(
          { twilioSid: callback.twilioSid, error: (err as Error).message },
          'status callback not applied in Postgres; queued for the worker',
        );
      }
    }
    await boundedEnqueue(
      this.deps.queues.status.add(
        'status',
        { ...callback, receivedAt: new Date().toISOString() },
        // A retried callback while the first is still queued is the same job.
        { jobId: `${callback.twilioSid}-${callback.twilioStatus}` },
      ),
    );
    return 'queued';
  }
}
