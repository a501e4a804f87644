import { randomUUID } from 'node:crypto';
import twilio from 'twilio';
import { dlrDoneDate } from './dates.js';
import { KeepAliveClient } from './keep-alive-client.js';
import { API_VERSION } from './message-resource.js';
import type { MessageStatus, ReceivedCreate, SimState, StoredMessage } from './state.js';
import type { TaskRunner } from './tasks.js';

/** Twilio's default total webhook timeout (connection override `tt`). */
const CALLBACK_TIMEOUT_MS = 15_000;
/** Twilio's default connection-override retry count (`rc`). */
const CALLBACK_RETRIES = 1;

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

/** Posts signed status callbacks like Twilio. */
export class CallbackSender {
  private readonly client: KeepAliveClient;

  constructor(
    private readonly state: SimState,
    private readonly runner: TaskRunner,
    private readonly authToken: string,
    private readonly retryDelayMs: number,
  ) {
    this.client = new KeepAliveClient({
      timeoutMs: CALLBACK_TIMEOUT_MS,
      trackAbort: (abort) => runner.abortOnStop(abort),
    });
  }

  /** Posts one status event, signed like Twilio, retrying once (same idempotency token) on failure. */
  async send(entry: ReceivedCreate, message: StoredMessage, url: string): Promise<void> {
    const status = message.status;
    const params = callbackParams(message, status, new Date());
    const body = new URLSearchParams(params).toString();
    const headers = {
      Accept: '*/*',
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': twilio.getExpectedTwilioSignature(this.authToken, url, params),
      'I-Twilio-Idempotency-Token': randomUUID(),
      'User-Agent': 'TwilioProxy/1.1',
    };
    // The URL passed validation at create.
    const target = new URL(url);
    for (let attempt = 0; attempt <= CALLBACK_RETRIES; attempt += 1) {
      if (attempt > 0 && !(await this.runner.wait(this.retryDelayMs))) return;
      const httpStatus = await this.client.post(target, headers, body);
      entry.callbacks.push({ status, at: new Date(), httpStatus });
      const ok = httpStatus !== null && httpStatus >= 200 && httpStatus < 300;
      this.state.callbackTotals[ok ? 'sent' : 'failed'] += 1;
      if (ok) return;
    }
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.client.close();
  }
}
