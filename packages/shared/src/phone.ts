import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export interface PhoneNumber {
  e164: string;
  /** ISO 3166 alpha-2, when the number belongs to one country. */
  country: string | undefined;
}

/**
 * Parses a number written in international form and returns it as E.164, or undefined when
 * libphonenumber does not consider it a valid number.
 */
export function parsePhone(input: string): PhoneNumber | undefined {
  const trimmed = input.trim();
  if (!trimmed.startsWith('+')) return undefined;
  const parsed = parsePhoneNumberFromString(trimmed);
  if (!parsed?.isValid()) return undefined;
  return { e164: parsed.number, country: parsed.country };
}

/** `+14155552671` → `***2671`, for logs. */
export function maskPhone(e164: string | null | undefined): string {
  if (!e164) return '';
  return `***${e164.slice(-4)}`;
}
