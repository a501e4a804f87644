import { createHash, randomBytes } from 'node:crypto';

const SID_BYTES = 16;
/** Random bytes are drawn for this many SIDs at once: a randomBytes call per SID showed in CPU profiles. */
const SIDS_PER_DRAW = 256;
let pool = Buffer.alloc(0);
let used = 0;

export function randomSid(prefix: string): string {
  if (used + SID_BYTES > pool.length) {
    pool = randomBytes(SID_BYTES * SIDS_PER_DRAW);
    used = 0;
  }
  used += SID_BYTES;
  return prefix + pool.toString('hex', used - SID_BYTES, used);
}

/** Same input, same SID, so resources the sim invents (numbers) keep their SIDs across restarts. */
export function stableSid(prefix: string, seed: string): string {
  return prefix + createHash('md5').update(seed).digest('hex');
}
