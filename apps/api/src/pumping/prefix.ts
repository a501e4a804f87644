import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * The destination range an E.164 number belongs to, as the SMS-pumping guard watches it: the country
 * calling code plus the first `nationalDigits` digits of the national number, without '+'
 * (+14155552671, 3 → "1415"; +23276123456, 3 → "232761"). Pumping rings rent ranges from one carrier, and
 * a carrier's numbers share these leading digits, so the range is what traffic is judged and blocked by.
 */
export function destinationPrefix(e164: string, nationalDigits: number): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) throw new RangeError('not an E.164 number');
  return parsed.countryCallingCode + parsed.nationalNumber.slice(0, nationalDigits);
}

/** Every leading part of the number's digits, shortest first: a block on any of them covers the number. */
export function allPrefixes(e164: string): string[] {
  const digits = e164.replace(/^\+/, '');
  return Array.from({ length: digits.length }, (_, i) => digits.slice(0, i + 1));
}
