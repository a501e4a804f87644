import { DEFAULT_TTL_SECONDS, maskPhone, parsePhone } from '@smsq/shared';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors.js';
import { MAX_SCHEDULE_AHEAD_DAYS, checkDestination, planMessage } from '../src/messages/plan.js';
import type { CreateMessageBody } from '../src/messages/schema.js';

const NOW = new Date('2026-11-21T10:00:00.000Z');
const DAY_MS = 24 * 3600_000;
const OPEN = { allowedCountries: undefined };
const US_GB = { allowedCountries: new Set(['US', 'GB']) };

/** The ApiError a call throws, as the fields a caller sees. */
function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    return { statusCode: e.statusCode, code: e.code, field: e.field };
  }
  throw new Error('expected an ApiError');
}

const plan = (req: CreateMessageBody, config: Parameters<typeof planMessage>[0] = OPEN) =>
  planMessage(config, req, NOW);

describe('parsePhone (E.164)', () => {
  it.each([
    ['+14155552671', '+14155552671', 'US'],
    ['+16135550123', '+16135550123', 'CA'], // same +1 code, another country
    ['+4915123456789', '+4915123456789', 'DE'],
    ['+1-415-555-2671', '+14155552671', 'US'],
    ['  +1 415 555 2671\n', '+14155552671', 'US'],
    ['+１４１５５５５２６７１', '+14155552671', 'US'], // full-width digits
  ])('reads %j as %s in %s', (input, e164, country) => {
    expect(parsePhone(input)).toEqual({ e164, country });
  });

  it('gives a non-geographic number (+800) no country', () => {
    expect(parsePhone('+80012345678')).toEqual({ e164: '+80012345678', country: undefined });
  });

  it.each(['++14155552671', '＋14155552671', '00 1 415 555 2671', '(415) 555-2671', '+', '+0123456789'])(
    'refuses %j',
    (input) => {
      expect(parsePhone(input)).toBeUndefined();
    },
  );

  it.each([
    ['+14155552671', '***2671'],
    ['', ''],
    [null, ''],
    [undefined, ''],
  ])('maskPhone(%j) is %j', (input, masked) => {
    expect(maskPhone(input)).toBe(masked);
  });
});

describe('checkDestination', () => {
  it('returns the parsed number when any country is allowed', () => {
    expect(checkDestination(undefined, '+44 7400 123456')).toEqual({ e164: '+447400123456', country: 'GB' });
    expect(checkDestination(undefined, '+80012345678').country).toBeUndefined();
  });

  it('accepts a number in an allowed country', () => {
    expect(checkDestination(US_GB.allowedCountries, '+14155552671').country).toBe('US');
  });

  it('refuses a country outside the list with 422 country_not_allowed', () => {
    expect(refusal(() => checkDestination(US_GB.allowedCountries, '+16135550123'))).toEqual({
      statusCode: 422,
      code: 'country_not_allowed',
      field: 'to',
    });
  });

  it('refuses a number of no country when there is a list', () => {
    const err = refusal(() => checkDestination(US_GB.allowedCountries, '+80012345678'));
    expect(err.code).toBe('country_not_allowed');
    expect(() => checkDestination(US_GB.allowedCountries, '+80012345678')).toThrow('this destination');
  });

  it('refuses everything with an empty list', () => {
    expect(refusal(() => checkDestination(new Set(), '+14155552671')).code).toBe('country_not_allowed');
  });

  it.each(['4155552671', '+1555', 'abc', ''])('refuses %j as 400 invalid_phone_number before the country', (to) => {
    expect(refusal(() => checkDestination(new Set(), to))).toEqual({
      statusCode: 400,
      code: 'invalid_phone_number',
      field: 'to',
    });
  });
});

describe('planMessage: recipient and content', () => {
  it('plans a plain body to a number', () => {
    expect(plan({ to: '+14155552671', body: 'Hello', metadata: { ref: 'x' } })).toEqual({
      phone: { e164: '+14155552671', country: 'US' },
      userId: undefined,
      body: 'Hello',
      secretBody: undefined,
      category: 'transaction',
      template: undefined,
      segments: 1,
      encoding: 'GSM-7',
      requestedStart: NOW,
      ttlSeconds: DEFAULT_TTL_SECONDS.transaction,
      metadata: { ref: 'x' },
    });
  });

  it('plans a message to a recipient without looking up a number', () => {
    const d = plan({ userId: 'u_42', body: 'Hi' });
    expect(d.phone).toBeUndefined();
    expect(d.userId).toBe('u_42');
  });

  it.each<[CreateMessageBody, string]>([
    [{ body: 'x' }, 'neither'],
    [{ to: '+14155552671', userId: 'u_1', body: 'x' }, 'both'],
  ])('refuses %j (%s of to and userId)', (req) => {
    expect(refusal(() => plan(req))).toEqual({ statusCode: 400, code: 'validation_failed', field: 'to' });
  });

  it.each<[CreateMessageBody, string]>([
    [{ to: '+14155552671' }, 'neither'],
    [{ to: '+14155552671', body: 'x', template: 'card_alert', data: { last4: '1' } }, 'both'],
  ])('refuses %j (%s of body and template)', (req) => {
    expect(refusal(() => plan(req))).toEqual({ statusCode: 400, code: 'validation_failed', field: 'body' });
  });

  it('refuses data without a template', () => {
    expect(refusal(() => plan({ to: '+14155552671', body: 'x', data: { a: 'b' } }))).toEqual({
      statusCode: 400,
      code: 'validation_failed',
      field: 'data',
    });
  });

  it('checks the destination against the allowed countries', () => {
    expect(refusal(() => plan({ to: '+4915123456789', body: 'x' }, US_GB)).code).toBe('country_not_allowed');
    expect(refusal(() => plan({ to: 'nope', body: 'x' })).code).toBe('invalid_phone_number');
    expect(plan({ to: '+447400123456', body: 'x' }, US_GB).phone?.country).toBe('GB');
  });

  it('takes the category given with a body', () => {
    const d = plan({ to: '+14155552671', body: 'Sale!', category: 'marketing' });
    expect(d).toMatchObject({ category: 'marketing', ttlSeconds: DEFAULT_TTL_SECONDS.marketing });
  });
});

describe('planMessage: templates', () => {
  it('renders a template, which brings its own category', () => {
    const d = plan({ to: '+14155552671', template: 'card_alert', data: { last4: '4242' } });
    expect(d).toMatchObject({
      template: 'card_alert',
      category: 'security',
      ttlSeconds: DEFAULT_TTL_SECONDS.security,
      segments: 1,
      encoding: 'GSM-7',
    });
    expect(d.body).toContain('ending 4242 was blocked');
  });

  it("accepts the template's own category and refuses another", () => {
    const req = { to: '+14155552671', template: 'card_alert', data: { last4: '4242' } };
    expect(plan({ ...req, category: 'security' }).category).toBe('security');
    expect(refusal(() => plan({ ...req, category: 'marketing' }))).toEqual({
      statusCode: 400,
      code: 'validation_failed',
      field: 'category',
    });
  });

  it.each([
    [{ template: 'nope' }, 'unknown_template', 'template'],
    [{ template: 'card_alert' }, 'missing_template_data', 'data.last4'],
    [{ template: 'card_alert', data: { last4: ' ' } }, 'missing_template_data', 'data.last4'],
    [{ template: 'card_alert', data: { last4: '1', x: '2' } }, 'validation_failed', 'data.x'],
    [{ template: 'promotion', data: { offer: 'x'.repeat(161) } }, 'validation_failed', 'data.offer'],
  ])('turns a template refusal %j into 400 %s on %s', (req, code, field) => {
    expect(refusal(() => plan({ to: '+14155552671', ...req }))).toEqual({ statusCode: 400, code, field });
  });
});

describe('planMessage: segments', () => {
  it('counts the body', () => {
    expect(plan({ to: '+14155552671', body: 'a'.repeat(161) })).toMatchObject({ segments: 2, encoding: 'GSM-7' });
    expect(plan({ to: '+14155552671', body: 'Привет' })).toMatchObject({ segments: 1, encoding: 'UCS-2' });
  });

  it('counts the secret text that goes out, and stores the masked one', () => {
    const masked = 'Your OTP is: ••••••';
    const d = planMessage(OPEN, { to: '+14155552671', body: masked, category: 'otp' }, NOW, 'Your OTP is: 123456');
    expect(d).toMatchObject({ body: masked, secretBody: 'Your OTP is: 123456', encoding: 'GSM-7', segments: 1 });
  });
});

describe('planMessage: schedule and lifetime', () => {
  const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

  it('starts now without sendAt, or with a past or present one', () => {
    expect(plan({ to: '+14155552671', body: 'x' }).requestedStart).toEqual(NOW);
    expect(plan({ to: '+14155552671', body: 'x', sendAt: at(-DAY_MS) }).requestedStart).toEqual(NOW);
    expect(plan({ to: '+14155552671', body: 'x', sendAt: at(0) }).requestedStart).toEqual(NOW);
  });

  it('starts at a future sendAt, up to 30 days ahead inclusive', () => {
    expect(MAX_SCHEDULE_AHEAD_DAYS).toBe(30);
    expect(plan({ to: '+14155552671', body: 'x', sendAt: at(1) }).requestedStart).toEqual(new Date(at(1)));
    const limit = at(MAX_SCHEDULE_AHEAD_DAYS * DAY_MS);
    expect(plan({ to: '+14155552671', body: 'x', sendAt: limit }).requestedStart).toEqual(new Date(limit));
  });

  it('refuses a sendAt more than 30 days ahead', () => {
    expect(refusal(() => plan({ to: '+14155552671', body: 'x', sendAt: at(30 * DAY_MS + 1) }))).toEqual({
      statusCode: 400,
      code: 'validation_failed',
      field: 'sendAt',
    });
  });

  it('reads a sendAt with an offset as the same instant', () => {
    const d = plan({ to: '+14155552671', body: 'x', sendAt: '2026-11-21T12:30:00+02:00' });
    expect(d.requestedStart.toISOString()).toBe('2026-11-21T10:30:00.000Z');
  });

  it('refuses a sendAt JavaScript cannot place in time (a leap second)', () => {
    expect(refusal(() => plan({ to: '+14155552671', body: 'x', sendAt: '2026-12-31T23:59:60Z' }))).toEqual({
      statusCode: 400,
      code: 'validation_failed',
      field: 'sendAt',
    });
  });

  it.each(Object.entries(DEFAULT_TTL_SECONDS))('defaults the lifetime of %s to %i s', (category, ttl) => {
    const d = plan({ to: '+14155552671', body: 'x', category: category as CreateMessageBody['category'] });
    expect(d.ttlSeconds).toBe(ttl);
  });

  it('keeps a lifetime given by the caller', () => {
    expect(plan({ to: '+14155552671', body: 'x', category: 'otp', ttlSeconds: 1 }).ttlSeconds).toBe(1);
  });

  it('lists the default lifetimes from shortest (codes) to longest (marketing)', () => {
    expect(DEFAULT_TTL_SECONDS).toEqual({
      otp: 600,
      security: 3600,
      transaction: 14_400,
      account: 14_400,
      marketing: 36_000,
    });
  });

  it('is pure: the same request and clock give the same draft', () => {
    const req = { to: '+14155552671', template: 'card_alert', data: { last4: '4242' }, sendAt: at(DAY_MS) };
    expect(plan(req)).toEqual(plan(req));
  });
});
