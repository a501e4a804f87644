import { EventEmitter } from 'node:events';
import type { RateScope } from '@smsq/shared';

/**
 * What the send processor reports besides its result, for the metrics: sends that had to wait for the
 * rate limit, slow-downs Twilio asked for, and refused attempts that go back to wait without counting
 * as failed (they never reach BullMQ's `failed` event).
 */
export interface SendSignalMap {
  rateLimitWait: [scope: RateScope];
  slowDown: [scope: RateScope, code: number | undefined];
  retryLater: [code: number | undefined];
}

export class SendSignals extends EventEmitter<SendSignalMap> {}
