import twilio from 'twilio';

/**
 * - `permanent`: Twilio refused the message; retrying cannot help (one try only).
 * - `transient`: the request certainly did not create a message (429, connection refused); retry.
 * - `ambiguous`: the message may exist at Twilio (5xx, timeout, reset); look it up before sending again.
 */
type FailureKind = 'permanent' | 'transient' | 'ambiguous';

export interface SendFailure {
  kind: FailureKind;
  code: number | undefined;
  message: string;
  /** The recipient opted out (21610): record it so we stop trying. */
  optedOut: boolean;
  /**
   * Twilio refused because we send too fast: slow down the sender, or the account (20429 counts
   * concurrent requests over the whole account). Never set on permanent failures.
   */
  slowDown: 'sender' | 'account' | undefined;
  /** From Twilio's Retry-After header, when it sent one (see rate-limit/retry-after.ts). */
  retryAfterMs: number | undefined;
}

/** Twilio refusals that a retry cannot fix (docs/design.md, "Error codes"): bad or unreachable numbers, opt-out, config. */
const PERMANENT_CODES = new Set([
  20003, 20404, 21211, 21212, 21408, 21602, 21603, 21604, 21606, 21608, 21610, 21612, 21614, 21617, 21701, 21703, 21705,
]);
/** Sender queue full (21611 on create, 30001 in a status callback): this sender goes too fast. */
const SENDER_OVERLOAD_CODES = new Set([21611, 30001]);
/** Network failures that happen before a request reaches Twilio. */
const NOT_SENT_NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether a Twilio error code (sync or from a status callback) says a sender is over its throughput. */
export function isSenderOverload(code: number | undefined): boolean {
  return code !== undefined && SENDER_OVERLOAD_CODES.has(code);
}

function retryAfterOf(err: unknown): number | undefined {
  const value = (err as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' ? value : undefined;
}

export function classifySendError(err: unknown): SendFailure {
  const retryAfterMs = retryAfterOf(err);
  const base = { optedOut: false, slowDown: undefined, retryAfterMs };
  if (err instanceof twilio.RestException) {
    const code = typeof err.code === 'number' ? err.code : undefined;
    const message = err.message;
    if (err.status === 429 || code === 20429) {
      return { ...base, kind: 'transient', code: code ?? 20429, message, slowDown: 'account' };
    }
    if (isSenderOverload(code)) return { ...base, kind: 'transient', code, message, slowDown: 'sender' };
    if (err.status >= 500) return { ...base, kind: 'ambiguous', code, message };
    if ((code !== undefined && PERMANENT_CODES.has(code)) || err.status < 500) {
      return { ...base, kind: 'permanent', code, message, optedOut: code === 21610, retryAfterMs: undefined };
    }
  }
  const e = err as { code?: unknown; message?: unknown };
  const netCode = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (NOT_SENT_NETWORK.has(netCode)) return { ...base, kind: 'transient', code: undefined, message };
  return { ...base, kind: 'ambiguous', code: undefined, message };
}
