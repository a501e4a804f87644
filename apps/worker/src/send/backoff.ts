/**
 * Exponential backoff with full jitter (AWS architecture blog): a random wait in [0, min(cap, base·2^n)],
 * so retries from many workers after one Twilio hiccup do not arrive together.
 */
export function fullJitterBackoff(attemptsMade: number, baseMs = 1000, capMs = 60_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.floor(Math.random() * ceiling);
}
