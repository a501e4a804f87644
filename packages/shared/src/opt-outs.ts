import type { PrismaClient } from './prisma.js';

/**
 * Twilio's default opt-out keywords: the product contract names six (docs/design.md), and Twilio also honours REVOKE and OPTOUT
 * (docs/design.md, "Opt-out keywords"). One of these alone in an inbound SMS opts out.
 */
export const OPT_OUT_KEYWORDS: ReadonlySet<string> = new Set([
  'STOP',
  'STOPALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'REVOKE',
  'OPTOUT',
]);
export const OPT_IN_KEYWORDS: ReadonlySet<string> = new Set(['START', 'YES', 'UNSTOP']);
export const HELP_KEYWORDS: ReadonlySet<string> = new Set(['HELP', 'INFO']);

export type InboundKeyword = 'opt_out' | 'opt_in' | 'help';

/** Classifies an inbound SMS body the way Twilio does: the whole message, trimmed, any case. */
export function inboundKeyword(body: string): InboundKeyword | undefined {
  const word = body.trim().toUpperCase();
  if (OPT_OUT_KEYWORDS.has(word)) return 'opt_out';
  if (OPT_IN_KEYWORDS.has(word)) return 'opt_in';
  if (HELP_KEYWORDS.has(word)) return 'help';
  return undefined;
}

export type OptOutSource = 'inbound' | 'twilio_error';

/** Records an opt-out or opt-in (the last one wins); `reason` is the keyword or Twilio's error code. */
export async function setOptOut(
  db: PrismaClient,
  phone: string,
  optedOut: boolean,
  reason: string,
  source: OptOutSource,
): Promise<void> {
  await db.optOut.upsert({
    where: { phone },
    create: { phone, optedOut, reason, source },
    update: { optedOut, reason, source, updatedAt: new Date() },
  });
}
