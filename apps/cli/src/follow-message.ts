import { isFinal, type MessageStatusName } from '@smsq/shared';
import type { ApiClient } from './api-client.js';
import { EXIT, type Output } from './io.js';

interface MessageEvent {
  status: MessageStatusName;
  at: string;
  source: string;
  errorCode: number | null;
}

interface MessageView {
  id: string;
  status: MessageStatusName;
  to: string;
  twilioSid: string | null;
  errorCode: number | null;
  errorMessage: string | null;
  events: MessageEvent[];
}

const POLL_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls GET /v1/messages/:id and prints every status change (from the event list, so quick changes
 * between two polls are not lost) until the message is final or the time is up.
 */
export async function followMessage(
  api: ApiClient,
  out: Output,
  messageId: string,
  timeoutSeconds: number,
  accepted: object,
): Promise<number> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let printed = 0;
  let message: MessageView;
  for (;;) {
    message = await api.get<MessageView>(`/v1/messages/${encodeURIComponent(messageId)}`);
    for (const e of message.events.slice(printed)) {
      out.line(
        `  ${e.at.slice(11, 23)}  ${e.status.padEnd(11)} ${e.source}${e.errorCode ? `  error ${e.errorCode}` : ''}`,
      );
    }
    printed = message.events.length;
    if (isFinal(message.status) || Date.now() >= deadline) break;
    await sleep(Math.min(POLL_MS, deadline - Date.now()));
  }

  const delivered = message.status === 'delivered';
  const timedOut = !isFinal(message.status);
  if (delivered) {
    out.line('Delivered.');
  } else if (timedOut) {
    out.problem(`Still ${message.status} after ${timeoutSeconds} s; see GET /v1/messages/${message.id}.`);
  } else {
    const error = message.errorCode ? ` (error ${message.errorCode}: ${message.errorMessage ?? 'no detail'})` : '';
    out.problem(`Not delivered: ${message.status}${error}.`);
  }
  out.result({ ok: delivered, accepted, message, timedOut });
  return delivered ? EXIT.ok : EXIT.failed;
}
