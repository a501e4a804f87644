import {
  DEFAULT_TTL_SECONDS,
  TemplateError,
  countSegments,
  parsePhone,
  renderTemplate,
  type CategoryName,
  type Config,
  type PhoneNumber,
} from '@smsq/shared';
import { ApiError, parseInstant } from '../errors.js';
import type { CreateMessageBody } from './schema.js';

/** How far ahead a message may be scheduled: further out, a date is more likely a mistake than a plan. */
export const MAX_SCHEDULE_AHEAD_DAYS = 30;
const DAY_MS = 24 * 3600_000;

/** What a request asks for, checked and worked out without asking Redis or Postgres anything. */
export interface Draft {
  /** The number given in the request, already checked; undefined when it names a recipient (`userId`). */
  phone: PhoneNumber | undefined;
  userId: string | undefined;
  /** The text stored and shown: for an OTP, with its code masked. */
  body: string;
  /** The text that goes out, when it must not be stored in clear (an OTP's, with its code): sealed. */
  secretBody: string | undefined;
  category: CategoryName;
  template: string | undefined;
  segments: number;
  encoding: string;
  /** When the caller wants it sent (now for a time in the past); quiet hours may defer it further. */
  requestedStart: Date;
  ttlSeconds: number;
  metadata: Record<string, unknown> | undefined;
  /** The caller's own label, shown with the message and in its webhook events. */
  reference: string | undefined;
}

/** A valid number in an allowed country: the destination rule every message obeys, whoever asks. */
export function checkDestination(allowedCountries: Config['allowedCountries'], to: string): PhoneNumber {
  const phone = parsePhone(to);
  if (!phone) throw new ApiError(400, 'invalid_phone_number', 'not a valid phone number in E.164 form', 'to');
  if (allowedCountries && (!phone.country || !allowedCountries.has(phone.country))) {
    throw new ApiError(
      422,
      'country_not_allowed',
      `sending to ${phone.country ?? 'this destination'} is not allowed`,
      'to',
    );
  }
  return phone;
}

interface Content {
  body: string;
  category: CategoryName;
  template: string | undefined;
}

/** The text and category of a request: its own body, or a rendered template (which brings its category). */
function contentOf(req: CreateMessageBody): Content {
  if (req.template === undefined) {
    if (req.data !== undefined) throw new ApiError(400, 'validation_failed', '"data" goes with "template"', 'data');
    return { body: req.body!, category: req.category ?? 'transaction', template: undefined };
  }
  let rendered;
  try {
    rendered = renderTemplate(req.template, req.data);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    const code = err.code === 'invalid_template_data' ? 'validation_failed' : err.code;
    throw new ApiError(400, code, err.message, err.field);
  }
  // The category decides TTL, priority and whether preferences may block it: a caller must not relabel a
  // template (say, marketing as security), and a silent override would hide the mistake.
  if (req.category !== undefined && req.category !== rendered.category) {
    throw new ApiError(
      400,
      'validation_failed',
      `template "${rendered.name}" is ${rendered.category}; leave out "category" or give that one`,
      'category',
    );
  }
  return { body: rendered.body, category: rendered.category, template: rendered.name };
}

/** When the caller wants it sent: now for a time in the past, refused when absurdly far ahead. */
function requestedStart(req: CreateMessageBody, now: Date): Date {
  if (!req.sendAt) return now;
  const sendAt = parseInstant(req.sendAt, 'sendAt');
  if (sendAt.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_DAYS * DAY_MS) {
    throw new ApiError(
      400,
      'validation_failed',
      `sendAt may be at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead`,
      'sendAt',
    );
  }
  return sendAt > now ? sendAt : now;
}

/**
 * Checks a request (already valid against its schema) and works out its message: content, category,
 * segments, schedule and lifetime. Pure: the same request and clock give the same draft, and a refusal is
 * an ApiError. `secretBody` is the text to send when `req.body` is its masked, storable form (an OTP).
 */
export function planMessage(
  config: Pick<Config, 'allowedCountries'>,
  req: CreateMessageBody,
  now: Date,
  secretBody?: string,
): Draft {
  if ((req.to === undefined) === (req.userId === undefined)) {
    throw new ApiError(400, 'validation_failed', 'give exactly one of "to" and "userId"', 'to');
  }
  if ((req.body === undefined) === (req.template === undefined)) {
    throw new ApiError(400, 'validation_failed', 'give exactly one of "body" and "template"', 'body');
  }
  const { body, category, template } = contentOf(req);
  const { segments, encoding } = countSegments(secretBody ?? body);
  return {
    phone: req.to === undefined ? undefined : checkDestination(config.allowedCountries, req.to),
    userId: req.userId,
    body,
    secretBody,
    category,
    template,
    segments,
    encoding,
    requestedStart: requestedStart(req, now),
    ttlSeconds: req.ttlSeconds ?? DEFAULT_TTL_SECONDS[category],
    metadata: req.metadata,
    reference: req.reference,
  };
}
