/**
 * The SMS an OTP goes out as (docs/design.md, OTP rules). The lifetime is stated in whole minutes, rounded down, so the
 * text never promises more time than the code has: 90 s reads "1 minute", 600 s "10 minutes".
 */
export function otpMessageText(code: string, ttlSeconds: number): string {
  const minutes = Math.max(1, Math.floor(ttlSeconds / 60));
  return `Your OTP is: ${code}\n\nThis OTP will expire in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`;
}

/** A code as stored and shown: one bullet per digit, so the text keeps its shape without the code. */
export function maskCode(code: string): string {
  return '\u2022'.repeat(code.length);
}
