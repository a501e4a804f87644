import { SlidingWindowCap } from '../caps/sliding-window-cap.js';
import { ApiError } from '../errors.js';
import { PumpingGuard, type PumpingGuardDeps } from '../pumping/guard.js';

/**
 * Every SMS that carries a code — from POST /v1/otp, or an `otp` message sent directly — passes here:
 * at most OTP_MAX_SENDS per number per OTP_SEND_WINDOW_SECONDS, then the SMS-pumping guard. One gate, so
 * neither path is a way around the other's limits. Returns the release of both counts (the cap slot and
 * the guard's), for a request that fails after this point.
 */
export async function admitOtpSend(deps: PumpingGuardDeps, e164: string, now: Date): Promise<() => Promise<void>> {
  const { config } = deps;
  const cap = new SlidingWindowCap(
    deps.redis,
    `${config.queuePrefix}:cap:otp`,
    config.otpMaxSends,
    config.otpSendWindowSeconds * 1000,
  );
  const hit = await cap.hit(e164, now.getTime());
  if (!hit.allowed) {
    throw new ApiError(
      429,
      'rate_limited',
      `${config.otpMaxSends} codes were sent to this number in the last ${config.otpSendWindowSeconds} s; try again later`,
      'to',
      { 'retry-after': String(hit.retryAfterSeconds) },
    );
  }
  let uncount: () => Promise<void>;
  try {
    uncount = await new PumpingGuard(deps).admit(e164, now);
  } catch (err) {
    await hit.release(); // a code the guard refused was not sent: it does not use up the number's budget
    throw err;
  }
  return async () => {
    await Promise.all([hit.release(), uncount()]);
  };
}
