import { EventEmitter } from 'node:events';
import type { RateScope } from './limiter/send-rate-limiter.js';
import type { ReconcileReport } from '../reconcile/reconciler.js';

/**
 * What the send processor reports besides its result, for the metrics: sends that had to wait for the
 * rate limit, slow-downs Twilio asked for, and refused attempts that go back to wait without counting
 * as failed (they never reach BullMQ's `failed` event); and what each reconciler pass repaired.
 */
export interface SendSignalMap {
  rateLimitWait: [scope: RateScope];
  slowDown: [scope: RateScope, code: number | undefined];
  retryLater: [code: number | undefined];
  reconciled: [report: ReconcileReport];
}

export class SendSignals extends EventEmitter<SendSignalMap> {}
