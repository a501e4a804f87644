import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import twilio from 'twilio';
import { dlrDoneDate } from './dates.js';
import { API_VERSION } from './message-resource.js';
import type { MessageStatus, ReceivedCreate, SimState, StoredMessage } from './state.js';
import type { TaskRunner } from './tasks.js';

/** Twilio's default total webhook timeout (connection override `tt`). */
const CALLBACK_TIMEOUT_MS = 15_000;
/** Twilio's default connection-override retry count (`rc`). */
const CALLBACK_RETRIES = 1;
/**
 * Connections per callback origin. Beyond this many callbacks in flight to one endpoint, the next ones wait for a
 * free connection, and the wait counts towards their timeout.
 */
const MAX_SOCKETS_PER_ORIGIN = 64;

/** The form fields Twilio posts to a message StatusCallback (see facts §2.2). */
function callbackParams(message: StoredMessage, status: MessageStatus, at: Date): Record<string, string> {
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
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN });

  constructor(
    private readonly state: SimState,
    private readonly runner: TaskRunner,
    private readonly authToken: string,
    private readonly retryDelayMs: number,
  ) {}

  /** Posts one status event, signed like Twilio, retrying once (same idempotency token) on failure. */
  async send(entry: ReceivedCreate, message: StoredMessage, url: string): Promise<void> {
    const status = message.status;
    const params = callbackParams(message, status, new Date());
    const body = new URLSearchParams(params).toString();
    const headers = {
      Accept: '*/*',
      'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': Buffer.byteLength(body),
      'X-Twilio-Signature': twilio.getExpectedTwilioSignature(this.authToken, url, params),
      'I-Twilio-Idempotency-Token': randomUUID(),
      'User-Agent': 'TwilioProxy/1.1',
    };
    for (let attempt = 0; attempt <= CALLBACK_RETRIES; attempt += 1) {
      if (attempt > 0 && !(await this.runner.wait(this.retryDelayMs))) return;
      const httpStatus = await this.post(url, headers, body);
      entry.callbacks.push({ status, at: new Date(), httpStatus });
      const ok = httpStatus !== null && httpStatus >= 200 && httpStatus < 300;
      this.state.callbackTotals[ok ? 'sent' : 'failed'] += 1;
      if (ok) return;
    }
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  /**
   * Resolves with the answer's status once its head arrives, or null on failure. The whole exchange (waiting for
   * a free connection, connecting, reading and dropping the body) is cut short after CALLBACK_TIMEOUT_MS, or by
   * the runner's stop().
   */
  private post(url: string, headers: Record<string, string | number>, body: string): Promise<number | null> {
    return new Promise((resolve) => {
      // The URL passed validation at create: http or https, in any letter case.
      const target = new URL(url);
      const request =
        target.protocol === 'https:'
          ? httpsRequest(target, { method: 'POST', headers, agent: this.https })
          : httpRequest(target, { method: 'POST', headers, agent: this.http });
      const abort = () => request.destroy();
      const timer = setTimeout(abort, CALLBACK_TIMEOUT_MS);
      const untrack = this.runner.abortOnStop(abort);
      request.on('response', (response) => {
        resolve(response.statusCode ?? null);
        response.resume();
      });
      // 'close' follows the end of the answer or any failure; resolving again is a no-op.
      request.on('error', () => undefined);
      request.on('close', () => {
        clearTimeout(timer);
        untrack();
        resolve(null);
      });
      request.end(body);
    });
  }
}
