import type { SimContext } from './context.js';
import { roll } from './faults.js';
import type { ReceivedCreate, StoredMessage } from './state.js';

/** Twilio's US SMS price per segment, negative as Twilio reports charges. */
const PRICE_PER_SEGMENT_MICRO_USD = 7900;

function price(segments: number): string {
  return `-${((PRICE_PER_SEGMENT_MICRO_USD * segments) / 1_000_000).toFixed(5)}`;
}

function markSent(message: StoredMessage, sender: string | undefined): void {
  const now = new Date();
  message.from ??= sender ?? null;
  message.status = 'sent';
  message.dateSent = now;
  message.dateUpdated = now;
}

function markFinal(context: SimContext, message: StoredMessage): void {
  const { failedRate, undeliveredRate } = context.state.faults;
  message.dateUpdated = new Date();
  if (roll(failedRate)) {
    // Twilio does not charge for failed messages, so price stays null.
    message.status = 'failed';
    message.errorCode = 30008;
    message.errorMessage = 'Unknown error';
    return;
  }
  message.price = price(message.numSegments);
  if (roll(undeliveredRate)) {
    message.status = 'undelivered';
    message.errorCode = 30003;
    message.errorMessage = 'Unreachable destination handset';
    return;
  }
  message.status = 'delivered';
}

/**
 * Moves a created message to `sent` after callbackDelayMs, then to its final status after another delay,
 * posting each change to the StatusCallback (Twilio sends none for the initial status).
 */
export function startLifecycle(context: SimContext, entry: ReceivedCreate, message: StoredMessage, url: string | null) {
  const { runner, callbackDelayMs, callbacks } = context;
  runner.run(async () => {
    if (!(await runner.wait(callbackDelayMs))) return;
    markSent(message, context.phoneNumbers[0]);
    if (url !== null) await callbacks.send(entry, message, url);
    if (!(await runner.wait(callbackDelayMs))) return;
    markFinal(context, message);
    if (url !== null) await callbacks.send(entry, message, url);
  });
}
