import { EventEmitter } from 'node:events';
import type { RateScope } from './limiter/send-rate-limiter.js';
import type { ReconcileReport } from '../reconcile/reconciler.js';
import type { AttemptOutcome } from '../webhooks/deliver.js';

/**
 * What the send processor reports besides its result, for the metrics: sends that had to wait for the
 * rate limit, slow-downs Twilio asked for, and refused attempts that go back to wait without counting
 * as failed (they never reach BullMQ's `failed` event); what each reconciler pass repaired; and each
 * webhook attempt (its outcome and seconds).
 */
export interface SendSignalMap {
  rateLimitWait: [scope: RateScope];
  slowDown: [scope: RateScope, code: number | undefined];
  retryLater: [code: number | undefined];
  reconciled: [report: ReconcileReport];
  webhookAttempt: [outcome: AttemptOutcome, seconds: number];
}

export class SendSignals extends EventEmitter<SendSignalMap> {}
