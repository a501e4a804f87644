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
