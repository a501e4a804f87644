import { renderTemplate } from '@smsq/shared';
import { describe, expect, it } from 'vitest';
import { OTP_CODE_MAX_LENGTH, OTP_CODE_MIN_LENGTH, OtpHasher, generateOtpCode } from '../src/otp/code.js';
import { maskCode, otpMessageText } from '../src/otp/message.js';

const ID = '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6c';
const OTHER_ID = '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6d';

describe('generateOtpCode', () => {
  it('allows 4 to 10 digits', () => {
    expect([OTP_CODE_MIN_LENGTH, OTP_CODE_MAX_LENGTH]).toEqual([4, 10]);
  });

  it.each(Array.from({ length: 7 }, (_, i) => i + 4))('makes a code of exactly %i decimal digits', (length) => {
    for (let i = 0; i < 50; i++) expect(generateOtpCode(length)).toMatch(new RegExp(`^[0-9]{${length}}$`));
  });

  it.each([3, 11, 0, -6, 4.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses a length of %s', (length) => {
    expect(() => generateOtpCode(length)).toThrow(RangeError);
  });

  it('draws every digit at every position, leading zeros included', () => {
    const seen = Array.from({ length: 4 }, () => new Set<string>());
    for (let i = 0; i < 1000; i++) [...generateOtpCode(4)].forEach((d, pos) => seen[pos]!.add(d));
    for (const digits of seen) expect(digits.size).toBe(10);
  });

  it('does not repeat itself', () => {
    const codes = new Set(Array.from({ length: 200 }, () => generateOtpCode(10)));
    expect(codes.size).toBeGreaterThan(195);
  });
});

describe('OtpHasher', () => {
  const hasher = new OtpHasher('secret-1');

  it('hashes to 64 hex characters (HMAC-SHA256), deterministically for one key', () => {
    const h = hasher.hash(ID, '123456');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).toBe(new OtpHasher('secret-1').hash(ID, '123456'));
    expect(h).not.toContain('123456');
  });

  it('binds the hash to the OTP id, the code and the key', () => {
    const h = hasher.hash(ID, '123456');
    expect(hasher.hash(OTHER_ID, '123456')).not.toBe(h);
    expect(hasher.hash(ID, '123457')).not.toBe(h);
    expect(hasher.hash(ID, '0123456')).not.toBe(h);
    expect(new OtpHasher('secret-2').hash(ID, '123456')).not.toBe(h);
  });

  it('matches the right code only', () => {
    const stored = hasher.hash(ID, '042917');
    expect(hasher.matches(ID, '042917', stored)).toBe(true);
    expect(hasher.matches(ID, '42917', stored)).toBe(false);
    expect(hasher.matches(ID, '042918', stored)).toBe(false);
    expect(hasher.matches(ID, ' 042917', stored)).toBe(false);
    expect(hasher.matches(ID, '', stored)).toBe(false);
  });

  it("does not match with another OTP's id or another key", () => {
    const stored = hasher.hash(ID, '042917');
    expect(hasher.matches(OTHER_ID, '042917', stored)).toBe(false);
    expect(new OtpHasher('secret-2').matches(ID, '042917', stored)).toBe(false);
  });

  it.each(['', 'zz', 'abc', '00'.repeat(31), '00'.repeat(33)])(
    'answers false (never throws) for a malformed stored hash %j',
    (stored) => {
      expect(hasher.matches(ID, '042917', stored)).toBe(false);
    },
  );

  it('accepts any string as a candidate', () => {
    const stored = hasher.hash(ID, '1234');
    for (const candidate of ['😀', 'x'.repeat(10_000), '\n', '1234\n']) {
      expect(hasher.matches(ID, candidate, stored)).toBe(false);
    }
  });

  it('is ephemeral without a secret, with one key for the whole process', () => {
    const a = new OtpHasher(undefined);
    expect(a.ephemeral).toBe(true);
    expect(hasher.ephemeral).toBe(false);
    expect(new OtpHasher('').ephemeral).toBe(false);
    expect(new OtpHasher(undefined).matches(ID, '1234', a.hash(ID, '1234'))).toBe(true);
    expect(a.hash(ID, '1234')).not.toBe(new OtpHasher('').hash(ID, '1234'));
  });
});

describe('otpMessageText', () => {
  it.each([
    [60, '1 minute'],
    [90, '1 minute'],
    [119, '1 minute'],
    [120, '2 minutes'],
    [599, '9 minutes'],
    [600, '10 minutes'],
    [36_000, '600 minutes'],
  ])('states %i s as "%s" (whole minutes, rounded down)', (ttl, words) => {
    expect(otpMessageText('123456', ttl)).toBe(`Your OTP is: 123456\n\nThis OTP will expire in ${words}.`);
  });

  it('never states less than one minute', () => {
    expect(otpMessageText('1234', 30)).toContain('expire in 1 minute.');
  });

  it("is the catalogue's otp template, so both routes send the same text", () => {
    expect(otpMessageText('482913', 600)).toBe(renderTemplate('otp', { code: '482913', minutes: 10 }).body);
  });
});

describe('maskCode', () => {
  it('puts one bullet per digit', () => {
    expect(maskCode('123456')).toBe('••••••');
    expect(maskCode('0000')).toBe('\u2022'.repeat(4));
    expect(maskCode('')).toBe('');
  });

  it('keeps the shape of the text without the code', () => {
    const masked = otpMessageText(maskCode('482913'), 600);
    expect(masked).not.toMatch(/\d{4}/);
    expect(masked).toHaveLength(otpMessageText('482913', 600).length);
  });
});
