import type { Config } from '@smsq/shared';

/** Who sends for us: the Messaging Service when one is configured, else the phone number. */
export function senderParams(config: Config): { messagingServiceSid: string } | { from: string | undefined } {
  return config.twilio.messagingServiceSid
    ? { messagingServiceSid: config.twilio.messagingServiceSid }
    : { from: config.twilio.phoneNumber };
}

/** The key its throughput limit is counted under (SENDER_MPS_OVERRIDES uses the same names). */
export function senderKey(config: Config): string {
  return config.twilio.messagingServiceSid ?? config.twilio.phoneNumber ?? 'default';
}
