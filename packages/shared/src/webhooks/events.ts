/** What a webhook endpoint can subscribe to (docs/api.md, "Webhooks"). */
export const MESSAGE_EVENT_TYPES = [
  'message.submitted',
  'message.sent',
  'message.delivered',
  'message.undelivered',
  'message.failed',
  'message.expired',
  'message.canceled',
] as const;
const OTP_EVENT_TYPES = ['otp.verified', 'otp.failed', 'otp.expired'] as const;
export const WEBHOOK_EVENT_TYPES = [...MESSAGE_EVENT_TYPES, ...OTP_EVENT_TYPES] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number] | 'webhook.test';

/** Without `events`: a message's end and an OTP's end, what a caller acts on. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEventType[] = [
  'message.delivered',
  'message.undelivered',
  'message.failed',
  'message.expired',
  'message.canceled',
  ...OTP_EVENT_TYPES,
];
