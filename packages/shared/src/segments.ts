import { createRequire } from 'node:module';
import { SegmentedMessage } from 'sms-segments-calculator';

type Encoding = 'GSM-7' | 'UCS-2';

export interface SegmentInfo {
  segments: number;
  encoding: Encoding;
}

/** The calculator's own GSM-7 table (UTF-16 code unit → septets): one source for which characters fit. */
const GSM_SEPTETS = createRequire(import.meta.url)('sms-segments-calculator/dist/libs/UnicodeToGSM.js')
  .default as Record<number, number[] | undefined>;
/** A single SMS holds 140 octets: 160 septets, or 153 beside the header that joins a multi-part message. */
const SINGLE_SEPTETS = 160;
const PART_SEPTETS = 153;

/**
 * The calculator's answer for a plain GSM-7 body, without splitting it into grapheme clusters (which
 * is most of the calculator's cost, and for these characters yields one cluster per character): parts
 * are filled in order and a two-septet character (€, [, …) never straddles two. Undefined when a
 * character is outside the table, or for CR LF, which is one cluster of two characters and so, to the
 * calculator, UCS-2: the calculator decides those.
 */
function plainGsmSegments(body: string): number | undefined {
  let septets = 0;
  for (let i = 0; i < body.length; i += 1) {
    const code = body.charCodeAt(i);
    const units = GSM_SEPTETS[code];
    if (!units || (code === 0x0d && body.charCodeAt(i + 1) === 0x0a)) return undefined;
    septets += units.length;
  }
  if (septets <= SINGLE_SEPTETS) return 1;
  let parts = 1;
  let used = 0;
  for (let i = 0; i < body.length; i += 1) {
    const size = GSM_SEPTETS[body.charCodeAt(i)]!.length;
    if (used + size > PART_SEPTETS) {
      parts += 1;
      used = 0;
    }
    used += size;
  }
  return parts;
}

/** Segment count and encoding as Twilio bills them (Twilio's own calculator). */
export function countSegments(body: string): SegmentInfo {
  const plain = plainGsmSegments(body);
  if (plain !== undefined) return { segments: plain, encoding: 'GSM-7' };
  const m = new SegmentedMessage(body);
  return { segments: m.segmentsCount, encoding: m.encodingName };
}

/** Twilio refuses longer bodies with 21617. */
export const MAX_BODY_LENGTH = 1600;
