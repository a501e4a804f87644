import type { Config } from '@smsq/shared';

/** A message's own sender, from its service (null: the deployment's, TWILIO_MESSAGING_SERVICE_SID or TWILIO_PHONE_NUMBER). */
export interface MessageSender {
  from: string | null;
  messagingServiceSid: string | null;
}

const DEPLOYMENT: MessageSender = { from: null, messagingServiceSid: null };

/**
 * Who sends a message: its service's Messaging Service or number when it has one, else the deployment's
 * Messaging Service when one is configured, else its phone number.
 */
export function senderParams(
  config: Config,
  m: MessageSender = DEPLOYMENT,
): { messagingServiceSid: string } | { from: string | undefined } {
  if (m.messagingServiceSid) return { messagingServiceSid: m.messagingServiceSid };
  if (m.from) return { from: m.from };
  return config.twilio.messagingServiceSid
    ? { messagingServiceSid: config.twilio.messagingServiceSid }
    : { from: config.twilio.phoneNumber };
}

/** The key its throughput limit is counted under (SENDER_MPS_OVERRIDES uses the same names). */
export function senderKey(config: Config, m: MessageSender = DEPLOYMENT): string {
  const params = senderParams(config, m);
  return ('messagingServiceSid' in params ? params.messagingServiceSid : params.from) ?? 'default';
}
