import { MessageSealer } from '@smsq/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtpHasher, generateOtpCode } from '../src/otp/code.js';
import { otpMessageText } from '../src/otp/message.js';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';

const TEXT = /^Your OTP is: (\d{4,10})\n\nThis OTP will expire in (\d+) minutes?\.$/;

/** An API with no workers: OTP messages stay queued, so their text (and code) can be read from Postgres. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false, env: { ALLOWED_COUNTRIES: 'US,CA,SL' } });
});
afterAll(async () => {
  await stack?.close();
});

const sendOtp = (payload: unknown, s: Stack = stack) =>
  s.api.inject({ method: 'POST', url: '/v1/otp', headers: AUTH, payload: payload as object });
const verify = (payload: unknown, s: Stack = stack) =>
  s.api.inject({ method: 'POST', url: '/v1/otp/verify', headers: AUTH, payload: payload as object });

/** The text of an OTP's queued SMS, opened as the worker opens it (it is stored sealed only). */
async function textOf(messageId: string, s: Stack = stack): Promise<string> {
  const m = await s.prisma.message.findUniqueOrThrow({ where: { id: messageId } });
  return new MessageSealer(s.config.otpSecret).open(m.id, m.sealedBody!);
}

/** The code inside an OTP's queued SMS. */
async function codeOf(messageId: string): Promise<string> {
  return TEXT.exec(await textOf(messageId))![1]!;
}

let numberSeq = 0;
/** A fresh US number per test, so the per-number cap of one test never touches another. */
const freshNumber = () => `+1415555${String(1000 + numberSeq++).padStart(4, '0')}`;

describe('OTP codes and text', () => {
  it('draws every digit uniformly, with leading zeros', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) for (const d of generateOtpCode(10)) counts[Number(d)]!++;
    // 10 000 digits: each count is ~1000 ± 30 (one standard deviation); 800–1200 fails about never.
    for (const c of counts) {
      expect(c).toBeGreaterThan(800);
      expect(c).toBeLessThan(1200);
    }
    expect(generateOtpCode(4)).toMatch(/^\d{4}$/);
    expect(() => generateOtpCode(3)).toThrow(RangeError);
    expect(() => generateOtpCode(11)).toThrow(RangeError);
  });

  it('states the lifetime in whole minutes, rounded down, singular for one', () => {
    expect(otpMessageText('123456', 600)).toBe('Your OTP is: 123456\n\nThis OTP will expire in 10 minutes.');
    expect(otpMessageText('1234', 60)).toBe('Your OTP is: 1234\n\nThis OTP will expire in 1 minute.');
    expect(otpMessageText('1234', 119)).toBe('Your OTP is: 1234\n\nThis OTP will expire in 1 minute.');
    expect(otpMessageText('1234', 150)).toBe('Your OTP is: 1234\n\nThis OTP will expire in 2 minutes.');
  });

  it('hashes with the key and the OTP id, and compares any candidate safely', () => {
    const a = new OtpHasher('a-secret-of-sixteen+');
    const b = new OtpHasher('another-secret-of-16');
    expect(a.ephemeral).toBe(false);
    expect(a.hash('id1', '123456')).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash('id1', '123456')).toBe(new OtpHasher('a-secret-of-sixteen+').hash('id1', '123456'));
    expect(a.hash('id1', '123456')).not.toBe(a.hash('id2', '123456'));
    expect(a.hash('id1', '123456')).not.toBe(b.hash('id1', '123456'));
    const stored = a.hash('id1', '123456');
    expect(a.matches('id1', '123456', stored)).toBe(true);
    for (const wrong of ['123457', '', 'abcdef', '1234567', '١٢٣٤٥٦'])
      expect(a.matches('id1', wrong, stored)).toBe(false);
    expect(a.matches('id2', '123456', stored)).toBe(false);
    expect(new OtpHasher(undefined).ephemeral).toBe(true);
  });
});

describe('POST /v1/otp', () => {
  it('sends the code as an otp message with the OTP ttl, storing only a keyed hash', async () => {
    const to = freshNumber();
    const res = await sendOtp({ to, purpose: 'password_reset' });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(
      ['attemptsRemaining', 'expiresAt', 'id', 'messageId', 'purpose', 'reference', 'status', 'to'].sort(),
    );
    expect(body).toMatchObject({ status: 'pending', to, purpose: 'password_reset', attemptsRemaining: 5 });

    const m = await stack.prisma.message.findUniqueOrThrow({ where: { id: body.messageId } });
    const [, code, minutes] = TEXT.exec(await textOf(m.id))!;
    // Stored masked; the text with the code only sealed.
    expect(m.body).toBe('Your OTP is: ••••••\n\nThis OTP will expire in 10 minutes.');
    expect(m.sealedBody).not.toContain(code);
    expect(code).toHaveLength(6);
    expect(minutes).toBe('10');
    expect(m).toMatchObject({ category: 'otp', to, status: 'queued', apiKey: 'tests' });
    expect(m.expiresAt.getTime() - m.createdAt.getTime()).toBeGreaterThanOrEqual(599_000);
    expect(m.expiresAt.getTime() - m.createdAt.getTime()).toBeLessThanOrEqual(600_000);
    expect((await stack.apiDeps.queues.send.getJob(m.id))?.opts.priority).toBe(1);

    const otp = await stack.prisma.otp.findUniqueOrThrow({ where: { id: body.id } });
    expect(otp).toMatchObject({ status: 'pending', attempts: 0, maxAttempts: 5, messageId: m.id, to });
    expect(otp.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(otp.codeHash).not.toContain(code);
    expect(res.body).not.toContain(code);
    expect(new Date(body.expiresAt).getTime()).toBe(otp.expiresAt.getTime());

    // The message API never shows an OTP's body.
    const shown = await stack.api.inject({ method: 'GET', url: `/v1/messages/${m.id}`, headers: AUTH });
    expect(shown.json().body).toBeNull();
  });

  it('honours codeLength and ttlSeconds', async () => {
    const res = await sendOtp({ to: freshNumber(), purpose: 'login', codeLength: 10, ttlSeconds: 90 });
    expect(res.statusCode).toBe(202);
    const m = await stack.prisma.message.findUniqueOrThrow({ where: { id: res.json().messageId } });
    expect(await textOf(m.id)).toMatch(/^Your OTP is: \d{10}\n\nThis OTP will expire in 1 minute\.$/);
    expect(new Date(res.json().expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(90_000);
    expect(m.expiresAt.getTime() - m.createdAt.getTime()).toBeLessThanOrEqual(90_000);
    const four = await sendOtp({ to: freshNumber(), purpose: 'login', codeLength: 4 });
    expect(await codeOf(four.json().messageId)).toMatch(/^\d{4}$/);
  });

  it('sends to a registered recipient by userId', async () => {
    const phone = freshNumber();
    await stack.prisma.recipient.create({ data: { userId: 'u_otp', phone } });
    const res = await sendOtp({ userId: 'u_otp', purpose: 'password_reset' });
    expect(res.statusCode).toBe(202);
    expect(res.json().to).toBe(phone);
    const m = await stack.prisma.message.findUniqueOrThrow({ where: { id: res.json().messageId } });
    expect(m.userId).toBe('u_otp');
    const ok = await verify({ userId: 'u_otp', purpose: 'password_reset', code: await codeOf(m.id) });
    expect(ok.json()).toMatchObject({ id: res.json().id, status: 'approved', valid: true });
  });

  it('cancels the pending OTP for the same number and purpose, and its queued SMS', async () => {
    const to = freshNumber();
    const first = (await sendOtp({ to, purpose: 'password_reset' })).json();
    const oldCode = await codeOf(first.messageId);
    const other = (await sendOtp({ to, purpose: 'login' })).json();
    const second = (await sendOtp({ to, purpose: 'password_reset' })).json();
    const otps = await stack.prisma.otp.findMany({ where: { to }, orderBy: { id: 'asc' } });
    expect(otps.map((o) => [o.id, o.status])).toEqual([
      [first.id, 'canceled'],
      [other.id, 'pending'],
      [second.id, 'pending'],
    ]);
    const old = await stack.prisma.message.findUniqueOrThrow({ where: { id: first.messageId } });
    expect(old.status).toBe('canceled');
    expect(old.sealedBody).toBeNull(); // the code leaves Postgres with the canceled SMS
    expect(await stack.apiDeps.queues.send.getJob(first.messageId)).toBeUndefined();
    const res = await verify({ id: first.id, code: oldCode });
    expect(res.json()).toEqual({
      id: first.id,
      status: 'canceled',
      valid: false,
      attemptsRemaining: 5,
      reference: null,
    });
    // Verifying by number and purpose finds the newest OTP.
    const byTo = await verify({ to, purpose: 'password_reset', code: await codeOf(second.messageId) });
    expect(byTo.json()).toMatchObject({ id: second.id, status: 'approved', valid: true });
  });

  it('of two racing OTPs for one number and purpose, exactly one stays pending', async () => {
    const to = freshNumber();
    const results = await Promise.all([1, 2, 3].map(() => sendOtp({ to, purpose: 'race' })));
    expect(results.map((r) => r.statusCode)).toEqual([202, 202, 202]);
    const statuses = (await stack.prisma.otp.findMany({ where: { to } })).map((o) => o.status).sort();
    expect(statuses).toEqual(['canceled', 'canceled', 'pending']);
  });

  it(`allows OTP_MAX_SENDS (5) codes per number per window, then 429 with Retry-After`, async () => {
    const to = freshNumber();
    for (let i = 0; i < 5; i++) expect((await sendOtp({ to, purpose: `p${i}` })).statusCode).toBe(202);
    const before = await stack.prisma.otp.count();
    const res = await sendOtp({ to, purpose: 'p5' });
    expect(res.statusCode).toBe(429);
    expect(res.json().error).toMatchObject({ code: 'rate_limited', field: 'to' });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(600);
    expect(await stack.prisma.otp.count()).toBe(before);
    expect((await sendOtp({ to: freshNumber(), purpose: 'p5' })).statusCode).toBe(202);
  });

  it('refuses a recipient without a phone, an unknown one, an opted-out number and a barred country', async () => {
    await stack.prisma.recipient.create({ data: { userId: 'u_nophone' } });
    await stack.prisma.optOut.create({
      data: { phone: '+14155559999', optedOut: true, reason: 'STOP', source: 'inbound' },
    });
    const before = [await stack.prisma.otp.count(), await stack.prisma.message.count()];
    const cases: [unknown, number, string, string][] = [
      [{ userId: 'u_nophone', purpose: 'x' }, 422, 'recipient_has_no_phone', 'userId'],
      [{ userId: 'u_nobody', purpose: 'x' }, 404, 'unknown_recipient', 'userId'],
      [{ to: '+14155559999', purpose: 'x' }, 422, 'recipient_opted_out', 'to'],
      [{ to: '+33612345678', purpose: 'x' }, 422, 'country_not_allowed', 'to'],
    ];
    for (const [payload, status, code, field] of cases) {
      const res = await sendOtp(payload);
      expect([res.statusCode, res.json().error.code, res.json().error.field]).toEqual([status, code, field]);
    }
    expect([await stack.prisma.otp.count(), await stack.prisma.message.count()]).toEqual(before);
  });

  const bad: [string, unknown, string, string][] = [
    ['neither to nor userId', { purpose: 'x' }, 'validation_failed', 'to'],
    ['both to and userId', { to: '+14155550100', userId: 'u1', purpose: 'x' }, 'validation_failed', 'to'],
    ['no purpose', { to: '+14155550100' }, 'validation_failed', 'purpose'],
    ['an empty purpose', { to: '+14155550100', purpose: '' }, 'validation_failed', 'purpose'],
    ['a purpose with spaces', { to: '+14155550100', purpose: 'reset password' }, 'validation_failed', 'purpose'],
    ['a purpose over 64 characters', { to: '+14155550100', purpose: 'p'.repeat(65) }, 'validation_failed', 'purpose'],
    ['codeLength 3', { to: '+14155550100', purpose: 'x', codeLength: 3 }, 'validation_failed', 'codeLength'],
    ['codeLength 11', { to: '+14155550100', purpose: 'x', codeLength: 11 }, 'validation_failed', 'codeLength'],
    ['codeLength 6.5', { to: '+14155550100', purpose: 'x', codeLength: 6.5 }, 'validation_failed', 'codeLength'],
    ['codeLength "six"', { to: '+14155550100', purpose: 'x', codeLength: 'six' }, 'validation_failed', 'codeLength'],
    ['ttlSeconds 59', { to: '+14155550100', purpose: 'x', ttlSeconds: 59 }, 'validation_failed', 'ttlSeconds'],
    ['ttlSeconds 36001', { to: '+14155550100', purpose: 'x', ttlSeconds: 36001 }, 'validation_failed', 'ttlSeconds'],
    ['an unknown field', { to: '+14155550100', purpose: 'x', code: '123456' }, 'validation_failed', 'code'],
    ['a number without +', { to: '4155550100', purpose: 'x' }, 'invalid_phone_number', 'to'],
    ['letters for a number', { to: 'call me', purpose: 'x' }, 'invalid_phone_number', 'to'],
    ['an empty userId', { userId: '', purpose: 'x' }, 'validation_failed', 'userId'],
  ];
  it.each(bad)('refuses %s with 400 and writes nothing', async (_name, payload, code, field) => {
    const before = await stack.prisma.otp.count();
    const res = await sendOtp(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code, field });
    expect(await stack.prisma.otp.count()).toBe(before);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await stack.api.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.paths['/v1/otp'].post.requestBody.content['application/json'].schema.required).toEqual(['purpose']);
    expect(Object.keys(doc.paths['/v1/otp/verify'].post.responses)).toContain('200');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/admin/blocks', '/v1/admin/blocks/{id}']));
  });

  it('needs an API key', async () => {
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/otp',
      payload: { to: '+14155550100', purpose: 'x' },
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('POST /v1/otp/verify', () => {
  async function newOtp(extra: Record<string, unknown> = {}) {
    const res = await sendOtp({ to: freshNumber(), purpose: 'verify_tests', ...extra });
    expect(res.statusCode).toBe(202);
    const otp = res.json();
    return { ...otp, code: await codeOf(otp.messageId) } as { id: string; to: string; code: string; messageId: string };
  }

  it('approves the right code once; a second check of it is not valid', async () => {
    const otp = await newOtp();
    const first = await verify({ id: otp.id, code: otp.code });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({
      id: otp.id,
      status: 'approved',
      valid: true,
      attemptsRemaining: 4,
      reference: null,
    });
    const again = await verify({ id: otp.id, code: otp.code });
    expect(again.json()).toEqual({
      id: otp.id,
      status: 'approved',
      valid: false,
      attemptsRemaining: 4,
      reference: null,
    });
    const row = await stack.prisma.otp.findUniqueOrThrow({ where: { id: otp.id } });
    expect(row.approvedAt).not.toBeNull();
    expect(first.body + again.body).not.toContain(otp.code);
  });

  it('ends on the fifth wrong code, which already answers max_attempts_reached', async () => {
    const otp = await newOtp();
    const wrong = otp.code === '000000' ? '111111' : '000000';
    for (const remaining of [4, 3, 2, 1]) {
      expect((await verify({ id: otp.id, code: wrong })).json()).toEqual({
        id: otp.id,
        status: 'pending',
        valid: false,
        attemptsRemaining: remaining,
        reference: null,
      });
    }
    expect((await verify({ id: otp.id, code: wrong })).json()).toEqual({
      id: otp.id,
      status: 'max_attempts_reached',
      valid: false,
      attemptsRemaining: 0,
      reference: null,
    });
    expect((await verify({ id: otp.id, code: otp.code })).json()).toMatchObject({
      status: 'max_attempts_reached',
      valid: false,
    });
    expect((await stack.prisma.otp.findUniqueOrThrow({ where: { id: otp.id } })).attempts).toBe(5);
  });

  it('counts a malformed code as a wrong one, never a 400', async () => {
    const otp = await newOtp();
    const malformed = ['abcdef', '12', '', '1234567890123', ' 12345', '12 345', '١٢٣٤٥٦'];
    const answers = [];
    for (const code of malformed.slice(0, 4)) answers.push((await verify({ id: otp.id, code })).json());
    expect(answers.map((a) => [a.status, a.valid, a.attemptsRemaining])).toEqual([
      ['pending', false, 4],
      ['pending', false, 3],
      ['pending', false, 2],
      ['pending', false, 1],
    ]);
    const other = await newOtp();
    for (const code of malformed.slice(4)) {
      const res = await verify({ id: other.id, code });
      expect([res.statusCode, res.json().valid]).toEqual([200, false]);
    }
    // A JSON number is read as its digits.
    const numeric = await newOtp();
    const res = await verify({ id: numeric.id, code: Number(numeric.code) });
    expect(res.json().valid).toBe(!numeric.code.startsWith('0'));
  });

  it('answers expired after the TTL, even for the right code', async () => {
    const otp = await newOtp({ ttlSeconds: 60 });
    await stack.prisma.otp.update({ where: { id: otp.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await verify({ id: otp.id, code: otp.code });
    expect(res.json()).toEqual({ id: otp.id, status: 'expired', valid: false, attemptsRemaining: 5, reference: null });
    expect((await stack.prisma.otp.findUniqueOrThrow({ where: { id: otp.id } })).status).toBe('expired');
  });

  it('never counts more than 5 attempts under 20 concurrent wrong checks', async () => {
    const otp = await newOtp();
    const wrong = otp.code === '999999' ? '888888' : '999999';
    const answers = (await Promise.all(Array.from({ length: 20 }, () => verify({ id: otp.id, code: wrong })))).map(
      (r) => r.json(),
    );
    expect(answers.every((a) => a.valid === false)).toBe(true);
    expect(answers.filter((a) => a.status === 'pending')).toHaveLength(4);
    expect(answers.filter((a) => a.status === 'max_attempts_reached')).toHaveLength(16);
    expect((await stack.prisma.otp.findUniqueOrThrow({ where: { id: otp.id } })).attempts).toBe(5);
  });

  it('approves exactly once under 20 concurrent right checks', async () => {
    const otp = await newOtp();
    const answers = (await Promise.all(Array.from({ length: 20 }, () => verify({ id: otp.id, code: otp.code })))).map(
      (r) => r.json(),
    );
    expect(answers.filter((a) => a.valid)).toHaveLength(1);
    expect(answers.every((a) => a.status === 'approved')).toBe(true);
    expect((await stack.prisma.otp.findUniqueOrThrow({ where: { id: otp.id } })).attempts).toBe(1);
  });

  const bad: [string, unknown, number, string, string?][] = [
    ['no code', { id: '0190f0a0-0000-7000-8000-000000000000' }, 400, 'validation_failed', 'code'],
    [
      'a code that is an object',
      { id: '0190f0a0-0000-7000-8000-000000000000', code: {} },
      400,
      'validation_failed',
      'code',
    ],
    ['an id that is not a UUID', { id: 'otp_1', code: '123456' }, 400, 'validation_failed', 'id'],
    [
      'id together with to',
      { id: '0190f0a0-0000-7000-8000-000000000000', to: '+14155550100', code: '1' },
      400,
      'validation_failed',
      'id',
    ],
    ['neither id, to nor userId', { purpose: 'x', code: '123456' }, 400, 'validation_failed', 'to'],
    ['to and userId', { to: '+14155550100', userId: 'u', purpose: 'x', code: '1' }, 400, 'validation_failed', 'to'],
    ['to without purpose', { to: '+14155550100', code: '123456' }, 400, 'validation_failed', 'purpose'],
    ['a bad number', { to: '555', purpose: 'x', code: '123456' }, 400, 'invalid_phone_number', 'to'],
    [
      'an unknown field',
      { id: '0190f0a0-0000-7000-8000-000000000000', code: '1', extra: 1 },
      400,
      'validation_failed',
      'extra',
    ],
    ['an unknown id', { id: '0190f0a0-0000-7000-8000-000000000000', code: '123456' }, 404, 'not_found'],
    ['a number with no OTP', { to: '+14155550188', purpose: 'none', code: '123456' }, 404, 'not_found'],
    ['an unknown userId', { userId: 'u_ghost', purpose: 'x', code: '123456' }, 404, 'unknown_recipient', 'userId'],
  ];
  it.each(bad)('refuses %s', async (_name, payload, status, code, field) => {
    const res = await verify(payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatchObject({ code, ...(field ? { field } : {}) });
  });
});

describe('OTP end to end, through the workers and the Twilio simulator', () => {
  const lines: string[] = [];
  let e2e: Stack;
  beforeAll(async () => {
    e2e = await startStack({
      env: { LOG_LEVEL: 'trace' },
      logTo: { write: (line: string) => void lines.push(line) },
    });
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it('delivers the code by SMS, approves it, and no log line holds it', async () => {
    const to = '+14155550142';
    const sent = await sendOtp({ to, purpose: 'password_reset', codeLength: 10 }, e2e);
    expect(sent.statusCode).toBe(202);
    const { id, messageId } = sent.json();
    const received = await eventually(async () =>
      e2e.sim!.state.received.find((r) => r.statusCallback?.includes(messageId) && r.message),
    );
    expect(received.to).toBe(to);
    const [, code, minutes] = TEXT.exec(received.body!)!;
    expect([code!.length, minutes]).toEqual([10, '10']);
    expect(received.validityPeriod).toBeGreaterThan(590);
    expect(received.validityPeriod).toBeLessThanOrEqual(600);

    const wrong = await verify({ id, code: '0'.repeat(10) === code ? '1'.repeat(10) : '0'.repeat(10) }, e2e);
    expect(wrong.json()).toMatchObject({ status: 'pending', valid: false, attemptsRemaining: 4 });
    const ok = await verify({ to, purpose: 'password_reset', code }, e2e);
    expect(ok.json()).toEqual({ id, status: 'approved', valid: true, attemptsRemaining: 3, reference: null });
    await eventually(async () => {
      const m = await e2e.prisma.message.findUniqueOrThrow({ where: { id: messageId } });
      return m.status === 'delivered' ? m : undefined;
    });

    const log = lines.join('');
    expect(log).toContain(id); // the OTP is logged, by id
    expect(log).toMatch(/"url":"\/v1\/otp\/verify".*"status":"approved","valid":true/); // its access line
    expect(log).not.toContain(code);
    const metrics = (await e2e.api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/smsq_otp_sends_total 1\b/);
    expect(metrics).toMatch(/smsq_otp_verifications_total\{status="approved",valid="true"\} 1\b/);
    expect(metrics).toMatch(/smsq_otp_verifications_total\{status="pending",valid="false"\} 1\b/);
  });
});
