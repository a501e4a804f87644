import { TwilioApiError } from './errors.js';

/** The Messages.json create parameters the sim looks at, as received (others are ignored). */
export interface CreateParams {
  to: string | null;
  from: string | null;
  messagingServiceSid: string | null;
  body: string | null;
  statusCallback: string | null;
  validityPeriod: string | null;
  attempt: string | null;
}

export type FormBody = Record<string, string | string[] | undefined>;

function first(form: FormBody, name: string): string | null {
  const value = form[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? null : text;
}

export function readCreateParams(form: FormBody | undefined): CreateParams {
  const f = form ?? {};
  return {
    to: first(f, 'To'),
    from: first(f, 'From'),
    messagingServiceSid: first(f, 'MessagingServiceSid'),
    body: first(f, 'Body'),
    statusCallback: first(f, 'StatusCallback'),
    validityPeriod: first(f, 'ValidityPeriod'),
    attempt: first(f, 'Attempt'),
  };
}

export function integerOrNull(text: string | null): number | null {
  return text !== null && /^-?\d+$/.test(text) ? Number(text) : null;
}

const E164 = /^\+[1-9]\d{1,14}$/;
const MAX_BODY = 1600;
const MAX_VALIDITY_PERIOD = 36_000;
/** Passes every check whether or not the account lists it (Twilio test credentials' magic sender). */
export const MAGIC_VALID_FROM = '+15005550006';

const MAGIC_FROM: Record<string, number> = { '+15005550001': 21212, '+15005550007': 21606, '+15005550008': 21611 };
const MAGIC_TO: Record<string, number> = {
  '+15005550001': 21211,
  '+15005550002': 21612,
  '+15005550003': 21408,
  '+15005550004': 21610,
  '+15005550009': 21614,
};

function refusal(code: number, to: string, from: string): TwilioApiError {
  const messages: Record<number, string> = {
    21211: `The 'To' number ${to} is not a valid phone number.`,
    21212: `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
    21408: `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
    21606: `The 'From' phone number provided (${from}) is not a valid message-capable Twilio phone number for this destination/account.`,
    21610: 'Attempt to send to unsubscribed recipient',
    21611: `This 'From' number ${from} has exceeded the maximum number of queued messages`,
    21612: `The 'To' phone number: ${to}, is not currently reachable using the 'From' phone number: ${from} via SMS.`,
    21614: `'To' number ${to} is not a valid mobile number`,
  };
  return new TwilioApiError(code, messages[code] ?? 'Invalid parameter', 400);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.hostname.includes('_');
  } catch {
    return false;
  }
}

export interface ValidCreate {
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
}

/**
 * Throws the TwilioApiError Twilio would answer with. Twilio does not document its check order; this one goes
 * presence → content → ValidityPeriod → callback URL → To format → sender → recipient magic numbers.
 */
export function validateCreate(params: CreateParams, ownedNumbers: ReadonlySet<string>): ValidCreate {
  const { to, from, messagingServiceSid, body, validityPeriod, statusCallback } = params;
  if (to === null) throw new TwilioApiError(21604, "A 'To' phone number is required.", 400);
  if (from === null && messagingServiceSid === null) {
    throw new TwilioApiError(21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message", 400);
  }
  if (body === null) throw new TwilioApiError(21602, 'Message body is required.', 400);
  if (body.length > MAX_BODY) {
    throw new TwilioApiError(21617, 'The concatenated message body exceeds the 1600 character limit.', 400);
  }
  if (validityPeriod !== null) {
    const seconds = integerOrNull(validityPeriod);
    if (seconds === null || seconds < 1 || seconds > MAX_VALIDITY_PERIOD) {
      throw new TwilioApiError(21624, 'Invalid validity period value: must be an integer between 1 and 36000.', 400);
    }
  }
  if (statusCallback !== null && !isHttpUrl(statusCallback)) {
    throw new TwilioApiError(21609, `Invalid StatusCallback url: ${statusCallback}`, 400);
  }
  const sender = from ?? '';
  if (!E164.test(to) || to === from) throw refusal(21211, to, sender);
  if (from !== null) {
    const fromCode = MAGIC_FROM[from];
    if (fromCode !== undefined) throw refusal(fromCode, to, from);
    if (from !== MAGIC_VALID_FROM && !ownedNumbers.has(from)) throw refusal(21606, to, from);
  }
  const toCode = MAGIC_TO[to];
  if (toCode !== undefined) throw refusal(toCode, to, sender);
  return { to, from, messagingServiceSid, body, statusCallback };
}
