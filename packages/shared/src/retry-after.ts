import { AsyncLocalStorage } from 'node:async_hooks';

interface Probe {
  retryAfterMs?: number;
}

const probes = new AsyncLocalStorage<Probe>();
/** A Retry-After longer than this is taken as this: a message should not sleep for hours on one header. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** An HTTP date as RFC 9110 §5.6.7 writes it (IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`. */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * `Retry-After` is delay-seconds or an HTTP date (RFC 9110 §10.2.3); anything else (`-5`, `1.5`, which
 * Date.parse would read as dates long past) is ignored, and the usual backoff applies.
 */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : HTTP_DATE.test(v) ? Date.parse(v) - now : NaN;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : undefined;
}

/**
 * Twilio's RestException drops the response headers, Retry-After among them: the HTTP layer
 * (twilio-http.ts) notes it here for the call that `withRetryAfter` runs.
 */
export function noteRetryAfter(value: unknown): void {
  const probe = probes.getStore();
  if (probe) probe.retryAfterMs = parseRetryAfter(value);
}

/** Runs a Twilio call; an error it throws carries `retryAfterMs` when Twilio sent a Retry-After. */
export async function withRetryAfter<T>(call: () => Promise<T>): Promise<T> {
  const probe: Probe = {};
  try {
    return await probes.run(probe, call);
  } catch (err) {
    if (probe.retryAfterMs !== undefined && typeof err === 'object' && err !== null) {
      Object.assign(err, { retryAfterMs: probe.retryAfterMs });
    }
    throw err;
  }
}
