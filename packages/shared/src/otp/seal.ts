import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** HKDF's `info` per purpose: one key per kind of secret, never the same as the key that hashes codes. */
const INFO = {
  'otp message': 'smsq otp message seal v1',
  'webhook secret': 'smsq webhook secret seal v1',
} as const;

/**
 * The text of an OTP's SMS, with its code, while it waits to be sent: AES-256-GCM under a key derived from
 * OTP_SECRET by HKDF-SHA256. The row and any job carry only the sealed form, `v1.<iv>.<tag>.<ciphertext>`
 * (base64url); the worker opens it in memory to send it. The message id is the associated data, so a
 * sealed text moved to another message does not open.
 *
 * Without OTP_SECRET (allowed outside production) the key is this process's own, as OtpHasher's is: a
 * worker in another process cannot open what this one sealed (`npm start` gives both the same secret).
 */
export class MessageSealer {
  private readonly key: Buffer;

  /**
   * `purpose`: what is sealed. Webhook signing secrets are sealed the same way, with their endpoint's id
   * as the associated data.
   */
  constructor(secret: string | undefined, purpose: keyof typeof INFO = 'otp message') {
    const ikm = secret === undefined ? processSecret() : Buffer.from(secret, 'utf8');
    this.key = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), INFO[purpose], 32));
  }

  seal(messageId: string, text: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(messageId));
    const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** The text, or throws UnsealError (another key, another message's text, a damaged value). */
  open(messageId: string, sealed: string): string {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || data === undefined) {
      throw new UnsealError('not a sealed message text');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(messageId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new UnsealError('the sealed text does not open with this OTP_SECRET');
    }
  }
}

export class UnsealError extends Error {}

let ownSecret: Buffer | undefined;
const processSecret = () => (ownSecret ??= randomBytes(32));
