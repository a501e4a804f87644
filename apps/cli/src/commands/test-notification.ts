import { ApiClient, type ApiOptions } from '../api-client.js';
import { followMessage } from '../follow-message.js';
import type { Io, Output } from '../io.js';

export interface TestNotificationOptions extends ApiOptions {
  body?: string;
  data: Record<string, string>;
  timeout: number;
}

/** security_alert's fields, filled so that the command works with no --data; any --data overrides them. */
function defaultAlertData(now: Date): Record<string, string> {
  return {
    event: 'a test notification from smsq',
    time: `${now.toISOString().slice(11, 16)} UTC`,
    phone: 'the number on your card',
  };
}

/** A security alert to the user's stored number: a category nobody can switch off, so it always goes. */
export async function testNotification(io: Io, out: Output, userId: string, opts: TestNotificationOptions) {
  const api = ApiClient.from(opts, io.env);
  const request = opts.body
    ? { userId, body: opts.body, category: 'security' }
    : { userId, template: 'security_alert', data: { ...defaultAlertData(new Date()), ...opts.data } };
  const accepted = await api.post<{ id: string; to: string }>('/v1/messages', request);
  out.line(`Accepted ${accepted.id} for ${userId} at ${accepted.to}.`);
  return followMessage(api, out, accepted.id, opts.timeout, accepted);
}
