import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export const OTP_CODE_MIN_LENGTH = 4;
export const OTP_CODE_MAX_LENGTH = 10;

/** A code of `length` decimal digits, each drawn uniformly from a CSPRNG (leading zeros included). */
export function generateOtpCode(length: number): string {
  if (!Number.isInteger(length) || length < OTP_CODE_MIN_LENGTH || length > OTP_CODE_MAX_LENGTH) {
    throw new RangeError(`an OTP code has ${OTP_CODE_MIN_LENGTH} to ${OTP_CODE_MAX_LENGTH} digits`);
  }
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(10));
  return code;
}

/**
 * The key OTP codes are hashed with. Without OTP_SECRET (allowed outside production) each process draws
 * its own random key: a code then verifies only on the process that sent it and dies with it, which is
 * harmless for one local API and never silently weak, as a fixed development key would be.
 */
export class OtpHasher {
  private readonly key: Buffer;
  /** True when no OTP_SECRET was configured and the key is this process's own. */
  readonly ephemeral: boolean;

  constructor(secret: string | undefined) {
    this.ephemeral = secret === undefined;
    this.key = secret === undefined ? processKey() : Buffer.from(secret, 'utf8');
  }

  /**
   * HMAC-SHA256 over the OTP's id and the code: the id binds a hash to its row, so equal codes of two
   * OTPs never have equal hashes and a stored hash cannot be moved to another OTP.
   */
  hash(otpId: string, code: string): string {
    return createHmac('sha256', this.key).update(`${otpId}\n${code}`).digest('hex');
  }

  /** Constant-time comparison of a candidate with the stored hash; any string may be a candidate. */
  matches(otpId: string, candidate: string, storedHash: string): boolean {
    const a = Buffer.from(this.hash(otpId, candidate), 'hex');
    const b = Buffer.from(storedHash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

let ownKey: Buffer | undefined;
const processKey = () => (ownKey ??= randomBytes(32));
