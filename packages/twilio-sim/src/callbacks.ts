import { randomUUID } from 'node:crypto';
import twilio from 'twilio';
import { dlrDoneDate } from './dates.js';
import { API_VERSION } from './message-resource.js';
import type { MessageStatus, ReceivedCreate, SimState, StoredMessage } from './state.js';
import type { TaskRunner } from './tasks.js';

/** Twilio's default total webhook timeout (connection override `tt`). */
const CALLBACK_TIMEOUT_MS = 15_000;
/** Twilio's default connection-override retry count (`rc`). */
const CALLBACK_RETRIES = 1;

export interface CallbackDeps {
  state: SimState;
  runner: TaskRunner;
  authToken: string;
  retryDelayMs: number;
}

/** The form fields Twilio posts to a message StatusCallback (see facts §2.2). */
export function callbackParams(message: StoredMessage, status: MessageStatus, at: Date): Record<string, string> {
  const params: Record<string, string> = {
    MessageSid: message.sid,
    SmsSid: message.sid,
    AccountSid: message.accountSid,
    From: message.from ?? '',
    To: message.to,
    MessageStatus: status,
    SmsStatus: status,
    ApiVersion: API_VERSION,
  };
  if (message.messagingServiceSid !== null) params.MessagingServiceSid = message.messagingServiceSid;
  if (message.errorCode !== null) params.ErrorCode = String(message.errorCode);
  // The carrier's delivery receipt carries the done date; Twilio's own `failed` has no receipt.
  if (status === 'delivered' || status === 'undelivered') params.RawDlrDoneDate = dlrDoneDate(at);
  return params;
}

async function post(url: string, params: Record<string, string>, headers: Record<string, string>, signal: AbortSignal) {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(params).toString(),
      signal,
    });
    await response.body?.cancel();
    return response.status;
  } catch {
    return null;
  }
}

/** Posts one status event, signed like Twilio, retrying once (same idempotency token) on failure. */
export async function sendStatusCallback(
  deps: CallbackDeps,
  entry: ReceivedCreate,
  message: StoredMessage,
  url: string,
): Promise<void> {
  const status = message.status;
  const params = callbackParams(message, status, new Date());
  const headers = {
    'X-Twilio-Signature': twilio.getExpectedTwilioSignature(deps.authToken, url, params),
    'I-Twilio-Idempotency-Token': randomUUID(),
    'User-Agent': 'TwilioProxy/1.1',
  };
  for (let attempt = 0; attempt <= CALLBACK_RETRIES; attempt += 1) {
    if (attempt > 0 && !(await deps.runner.wait(deps.retryDelayMs))) return;
    const httpStatus = await post(url, params, headers, deps.runner.httpSignal(CALLBACK_TIMEOUT_MS));
    entry.callbacks.push({ status, at: new Date(), httpStatus });
    const ok = httpStatus !== null && httpStatus >= 200 && httpStatus < 300;
    deps.state.callbackTotals[ok ? 'sent' : 'failed'] += 1;
    if (ok) return;
  }
}
