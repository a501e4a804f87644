import { STATUS_ORDER, type MessageStatusName, type WebhookEventType } from '@smsq/shared';

/** A delivery as loaded for sending: the outbox row and what its payload reads from the message or OTP. */
export interface DeliveryRow {
  id: string;
  type: WebhookEventType;
  endpointId: string;
  messageId: string | null;
  otpId: string | null;
  /** The status the event reports (a message's, or an OTP's). */
  status: string | null;
  errorCode: number | null;
  occurredAt: Date;
  category: string | null;
  segments: number | null;
  price: string | null;
  priceUnit: string | null;
  reference: string | null;
  to: string | null;
  purpose: string | null;
}

/** `+14155552671` → `+1415•••2671`: enough for a caller to recognise a number, not to use it. */
export function maskForCaller(e164: string | null): string | null {
  if (!e164) return null;
  if (e164.length <= 9) return `${e164.slice(0, 2)}•••${e164.slice(-2)}`;
  return `${e164.slice(0, 5)}•••${e164.slice(-4)}`;
}

/**
 * Carrier and Twilio codes whose cause does not go away by sending again (an unknown or landline
 * number, an opt-out, content filtered); other codes (unreachable handset, carrier trouble) may pass.
 */
const PERMANENT_ERROR_CODES = new Set([
  21211, 21408, 21610, 21612, 21614, 30004, 30005, 30006, 30007, 30032, 30034, 30450,
]);
const errorClassOf = (code: number | null) =>
  code === null ? null : PERMANENT_ERROR_CODES.has(code) ? 'permanent' : 'temporary';

const OTP_STATUS: Record<string, string> = {
  approved: 'verified',
  max_attempts_reached: 'failed',
  expired: 'expired',
};

/**
 * The event as the caller receives it: `{type, timestamp, data}`. Never a body, never a code, the number
 * masked. `statusRank` is the status's place in the lifecycle, so a receiver can drop an older event
 * that arrives after a newer one.
 */
export function webhookEvent(d: DeliveryRow) {
  const timestamp = d.occurredAt.toISOString();
  if (d.type === 'webhook.test') return { type: d.type, timestamp, data: { endpointId: d.endpointId } };
  if (d.type.startsWith('otp.')) {
    return {
      type: d.type,
      timestamp,
      data: {
        otpId: d.otpId,
        messageId: d.messageId,
        status: OTP_STATUS[d.status ?? ''] ?? d.status,
        purpose: d.purpose,
        reference: d.reference,
        to: maskForCaller(d.to),
      },
    };
  }
  return {
    type: d.type,
    timestamp,
    data: {
      messageId: d.messageId,
      status: d.status,
      statusRank: STATUS_ORDER.indexOf(d.status as MessageStatusName),
      errorCode: d.errorCode,
      errorClass: errorClassOf(d.errorCode),
      category: d.category,
      segments: d.segments,
      price: d.price,
      priceUnit: d.priceUnit,
      reference: d.reference,
      to: maskForCaller(d.to),
    },
  };
}

/** The wait before the retry after `attempts` failed tries, with ±20 % jitter; undefined: give up. */
export function retryDelayMs(attempts: number, delaysMs: readonly number[], random = Math.random): number | undefined {
  const base = delaysMs[attempts - 1];
  if (base === undefined) return undefined;
  return Math.round(base * (0.8 + 0.4 * random()));
}
