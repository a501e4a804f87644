import type { Message, MessageEvent } from '@smsq/shared';
import { isoOrNull } from '../common-schema.js';

/**
 * The public shape of a message. A live OTP's body is never shown (even masked); a test message's is,
 * code included, so a caller's CI can run a whole login without a phone.
 */
export function messageView(m: Message) {
  return {
    id: m.id,
    status: m.status,
    to: m.to,
    from: m.from,
    userId: m.userId,
    category: m.category,
    template: m.template,
    body: m.category === 'otp' && !m.test ? null : m.body,
    segments: m.segments,
    encoding: m.encoding,
    attempts: m.attempts,
    twilioSid: m.twilioSid,
    errorCode: m.errorCode,
    errorMessage: m.errorMessage,
    price: m.price === null ? null : m.price.toString(),
    priceUnit: m.priceUnit,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
    sentAt: isoOrNull(m.sentAt),
    deliveredAt: isoOrNull(m.deliveredAt),
    expiresAt: m.expiresAt.toISOString(),
    sendAt: isoOrNull(m.sendAt),
    metadata: (m.metadata as Record<string, unknown> | null) ?? null,
    reference: m.reference,
  };
}

export function eventView(e: MessageEvent) {
  return { status: e.status, at: e.at.toISOString(), source: e.source, errorCode: e.errorCode };
}
