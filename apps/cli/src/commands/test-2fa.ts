import { ApiClient, type ApiOptions } from '../api-client.js';
import { followMessage } from '../follow-message.js';
import type { Io, Output } from '../io.js';

interface OtpAccepted {
  id: string;
  to: string;
  purpose: string;
  expiresAt: string;
  messageId: string;
}

/** Sends the user a one-time code as a login would (docs/design.md, "OTP rules") and waits for its SMS to arrive. */
export async function test2fa(io: Io, out: Output, userId: string, opts: ApiOptions & { timeout: number }) {
  const api = ApiClient.from(opts, io.env);
  const otp = await api.post<OtpAccepted>('/v1/otp', { userId, purpose: 'test_2fa' });
  out.line(
    `OTP ${otp.id} for ${userId} goes to ${otp.to} as message ${otp.messageId}; it expires at ${otp.expiresAt}.`,
  );
  return followMessage(api, out, otp.messageId, opts.timeout, otp);
}
