import { createHash, randomBytes } from 'node:crypto';

export function randomSid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Same input, same SID, so resources the sim invents (numbers) keep their SIDs across restarts. */
export function stableSid(prefix: string, seed: string): string {
  return prefix + createHash('md5').update(seed).digest('hex');
}
