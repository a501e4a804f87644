const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// These take an escape septet plus the character, so they cost two septets.
const GSM7_EXTENDED = new Set('\f^{}\\[~]|€');

const GSM7_SINGLE = 160;
const GSM7_PART = 153;
const UCS2_SINGLE = 70;
const UCS2_PART = 67;

/** Per-character costs in the body's encoding: septets for GSM-7, UTF-16 code units for UCS-2. */
function characterCosts(body: string): { costs: number[]; gsm7: boolean } {
  const chars = [...body];
  if (chars.every((c) => GSM7_BASIC.has(c) || GSM7_EXTENDED.has(c))) {
    return { costs: chars.map((c) => (GSM7_EXTENDED.has(c) ? 2 : 1)), gsm7: true };
  }
  return { costs: chars.map((c) => c.length), gsm7: false };
}

/**
 * How many SMS segments Twilio bills for a body. One character outside GSM-7 switches the whole body to UCS-2;
 * multi-part messages lose room to the 6-byte header, and an escape pair or surrogate pair is never split.
 */
export function countSegments(body: string): number {
  const { costs, gsm7 } = characterCosts(body);
  const total = costs.reduce((sum, cost) => sum + cost, 0);
  if (total <= (gsm7 ? GSM7_SINGLE : UCS2_SINGLE)) return 1;
  const capacity = gsm7 ? GSM7_PART : UCS2_PART;
  let segments = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > capacity) {
      segments += 1;
      used = 0;
    }
    used += cost;
  }
  return segments;
}
