import { MessageStatus } from './generated/prisma/enums.js';

export { MessageStatus };
export type MessageStatusName = (typeof MessageStatus)[keyof typeof MessageStatus];

/** Lifecycle order; the database enum is declared in the same order and enforces it. */
export const STATUS_ORDER: readonly MessageStatusName[] = [
  'queued',
  'sending',
  'submitted',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'expired',
  'canceled',
];

export const FINAL_STATUSES: ReadonlySet<MessageStatusName> = new Set([
  'delivered',
  'undelivered',
  'failed',
  'expired',
  'canceled',
]);

export function isFinal(status: MessageStatusName): boolean {
  return FINAL_STATUSES.has(status);
}

/**
 * The rule advanceStatuses applies in SQL (`status < to`, not from a final status): statuses only move
 * forward in STATUS_ORDER, and a final one never changes. A repeated or late update is no move.
 */
export function canAdvance(from: MessageStatusName, to: MessageStatusName): boolean {
  return !isFinal(from) && STATUS_ORDER.indexOf(from) < STATUS_ORDER.indexOf(to);
}

/**
 * Twilio's MessageStatus → ours. Twilio's own pre-carrier states (queued, sending, accepted, scheduled)
 * all mean "Twilio has it", which is our `submitted`.
 */
export function fromTwilioStatus(twilioStatus: string): MessageStatusName | undefined {
  switch (twilioStatus) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
    case 'sending':
      return 'submitted';
    case 'sent':
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'canceled':
      return twilioStatus;
    default:
      return undefined;
  }
}
