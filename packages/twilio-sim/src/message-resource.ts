import { rfc2822 } from './dates.js';
import type { StoredMessage } from './state.js';

export const API_VERSION = '2010-04-01';

export function messagesPath(accountSid: string): string {
  return `/${API_VERSION}/Accounts/${accountSid}/Messages`;
}

/** The v2010 Message resource (`api.v2010.account.message`); counts are strings as Twilio sends them. */
export function messageJson(message: StoredMessage) {
  const base = `${messagesPath(message.accountSid)}/${message.sid}`;
  const created = rfc2822(message.dateCreated);
  return {
    account_sid: message.accountSid,
    api_version: API_VERSION,
    body: message.body,
    date_created: created,
    date_sent: message.dateSent && rfc2822(message.dateSent),
    // A new message's dates are one Date: formatted once, as every create answer shows it.
    date_updated: message.dateUpdated === message.dateCreated ? created : rfc2822(message.dateUpdated),
    direction: 'outbound-api',
    error_code: message.errorCode,
    error_message: message.errorMessage,
    from: message.from,
    messaging_service_sid: message.messagingServiceSid,
    num_media: '0',
    // Twilio reports 0 until a Messaging Service has picked the sender.
    num_segments: String(message.from === null ? 0 : message.numSegments),
    price: message.price,
    price_unit: message.price === null ? null : 'USD',
    sid: message.sid,
    status: message.status,
    subresource_uris: { media: `${base}/Media.json`, feedback: `${base}/Feedback.json` },
    to: message.to,
    uri: `${base}.json`,
  };
}
