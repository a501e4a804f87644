import twilio from 'twilio';

/**
 * - `permanent`: Twilio refused the message; retrying cannot help (one try only).
 * - `transient`: the request certainly did not create a message (429, connection refused); retry.
 * - `ambiguous`: the message may exist at Twilio (5xx, timeout, reset); look it up before sending again.
 */
export type FailureKind = 'permanent' | 'transient' | 'ambiguous';

export interface SendFailure {
  kind: FailureKind;
  code: number | undefined;
  message: string;
  /** The recipient opted out (21610): record it so we stop trying. */
  optedOut: boolean;
}

/** Twilio refusals that a retry cannot fix (twilio-facts §4.1): bad or unreachable numbers, opt-out, config. */
const PERMANENT_CODES = new Set([
  20003, 20404, 21211, 21212, 21408, 21602, 21603, 21604, 21606, 21608, 21610, 21612, 21614, 21617, 21701, 21703, 21705,
]);
/** Rate and queue limits: Twilio did not take the message, and will once we slow down. */
const TRANSIENT_CODES = new Set([20429, 21611]);
/** Network failures that happen before a request reaches Twilio. */
const NOT_SENT_NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function classifySendError(err: unknown): SendFailure {
  if (err instanceof twilio.RestException) {
    const code = typeof err.code === 'number' ? err.code : undefined;
    const message = err.message;
    if (err.status === 429 || (code !== undefined && TRANSIENT_CODES.has(code))) {
      return { kind: 'transient', code: code ?? 20429, message, optedOut: false };
    }
    if (err.status >= 500) return { kind: 'ambiguous', code, message, optedOut: false };
    if ((code !== undefined && PERMANENT_CODES.has(code)) || err.status < 500) {
      return { kind: 'permanent', code, message, optedOut: code === 21610 };
    }
  }
  const e = err as { code?: unknown; message?: unknown };
  const netCode = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (NOT_SENT_NETWORK.has(netCode)) return { kind: 'transient', code: undefined, message, optedOut: false };
  return { kind: 'ambiguous', code: undefined, message, optedOut: false };
}
