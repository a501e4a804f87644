import { createHash, randomBytes } from 'node:crypto';

/** What a key may do; a route names the one it needs (docs/api.md, "Services and keys"). */
export const SCOPES = [
  'messages:send',
  'messages:read',
  'otp:verify',
  'recipients:read',
  'recipients:write',
  'webhooks',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export const KEY_TYPES = ['live', 'test'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** 16 hex digits name a key (its row); 64 hex digits (256 bits) are its secret. */
const KEY_PATTERN = /^smsq_(live|test)_([0-9a-f]{16})_([0-9a-f]{64})$/;

export interface ParsedKey {
  type: KeyType;
  id: string;
  secret: string;
}

/** `smsq_<type>_<id>_<secret>`: a prefix secret scanners can match, the id to find its row. */
export function parseKey(token: string): ParsedKey | undefined {
  const m = KEY_PATTERN.exec(token);
  return m ? { type: m[1] as KeyType, id: m[2]!, secret: m[3]! } : undefined;
}

/** A new key; `key` is shown once, only `hashSecret(secret)` is stored. */
export function generateKey(type: KeyType): ParsedKey & { key: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return { type, id, secret, key: `smsq_${type}_${id}_${secret}` };
}

/**
 * SHA-256 of the secret. A secret of 256 random bits needs no slow hash: nobody can guess it, and a
 * fast hash keeps the check out of the request's time.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
