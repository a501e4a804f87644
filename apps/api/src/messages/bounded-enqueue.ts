import { within } from '@smsq/shared';
import { unavailable } from '../errors.js';

const ENQUEUE_TIMEOUT_MS = 2000;

/** BullMQ waits for Redis indefinitely; a caller must not, so a slow or absent Redis becomes a 503. */
export function boundedEnqueue<T>(add: Promise<T>): Promise<T> {
  return within(add, ENQUEUE_TIMEOUT_MS, () => unavailable('the queue'));
}
