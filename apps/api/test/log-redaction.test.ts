import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { API_KEY, AUTH, AUTH_TOKEN, eventually, signedWebhook, startStack, type Stack } from '../../../test/stack.js';

/** Every line the API and the workers logged during the run. */
const lines: string[] = [];
const capture = { write: (line: string) => void lines.push(line) };
const logged = () => lines.join('');

const DASHBOARD_PASSWORD = 'board-secret-7f3a';
const OTP_CODE = '493817';
const CARD_BODY = 'Your card ending 4242 was blocked.';
const RECIPIENTS = ['+14155552671', '+14155552672', '+14155552673', '+15005550009'];

let stack: Stack;
const signatures: string[] = [];
beforeAll(async () => {
  stack = await startStack({
    logTo: capture,
    env: { LOG_LEVEL: 'debug', DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD },
  });
});
afterAll(async () => {
  await stack.close();
});

async function finalStatus(id: string) {
  return eventually(async () => {
    const m = (await stack.api.inject({ url: `/v1/messages/${id}`, headers: AUTH })).json();
    return ['delivered', 'failed', 'undelivered'].includes(m.status) ? m.status : undefined;
  }, 20_000);
}

describe('logs of a full run', () => {
  beforeAll(async () => {
    const send = async (payload: object, requestId?: string) => {
      const res = await stack.api.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { ...AUTH, ...(requestId ? { 'x-request-id': requestId } : {}) },
        payload,
      });
      expect(res.statusCode).toBe(202);
      return res;
    };
    const card = await send({ to: RECIPIENTS[0], body: CARD_BODY, category: 'security' }, 'redaction-run-1');
    expect(card.headers['x-request-id']).toBe('redaction-run-1');
    const otp = await send({
      to: RECIPIENTS[1],
      body: `Your OTP is: ${OTP_CODE}\n\nThis OTP will expire in 10 minutes.`,
      category: 'otp',
    });
    // Twilio refuses this one with an error message that names the number (21614).
    const landline = await send({ to: RECIPIENTS[3], body: 'to a landline' });
    expect(await finalStatus(card.json().id)).toBe('delivered');
    expect(await finalStatus(otp.json().id)).toBe('delivered');
    expect(await finalStatus(landline.json().id)).toBe('failed');

    await stack.api.inject({ url: `/v1/messages?to=${encodeURIComponent(RECIPIENTS[0]!)}`, headers: AUTH });
    expect(
      (await stack.api.inject({ url: '/v1/messages', headers: { authorization: 'Bearer wrong-key-9c1d' } })).statusCode,
    ).toBe(401);

    const stop = { MessageSid: `SM${'f6'.repeat(16)}`, From: RECIPIENTS[2]!, To: '+15005550006', Body: 'STOP' };
    const url = `${stack.config.publicBaseUrl}/webhooks/twilio/inbound`;
    signatures.push(twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, stop));
    expect((await signedWebhook(stack, '/webhooks/twilio/inbound', stop)).statusCode).toBe(200);
    const forged = twilio.getExpectedTwilioSignature('not-the-token', url, stop);
    signatures.push(forged);
    expect((await signedWebhook(stack, '/webhooks/twilio/inbound', stop, forged)).statusCode).toBe(403);

    const basic = `Basic ${Buffer.from(`ops:${DASHBOARD_PASSWORD}`).toString('base64')}`;
    expect(
      (await stack.api.inject({ url: '/admin/queues/api/queues', headers: { authorization: basic } })).statusCode,
    ).toBe(200);
  }, 60_000);

  it('logged the run: requests with their ids, the worker, the webhooks', () => {
    const text = logged();
    // One access line per request, carrying what the route did.
    const requestLines = lines.filter((l) => l.includes('"reqId":"redaction-run-1"'));
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatch(/"statusCode":202.*"messageId":"[0-9a-f-]{36}".*"msg":"request completed"/);
    // Status callbacks (two per message) write none; their refusals still do.
    expect(lines.some((l) => l.includes('"msg":"request completed"') && l.includes('/webhooks/twilio/status'))).toBe(
      false,
    );
    expect(lines.some((l) => l.includes('"msg":"request completed"') && l.includes('/webhooks/twilio/inbound'))).toBe(
      true,
    );
    expect(text).toContain('"msg":"submitted to Twilio"');
    expect(text).toContain('"msg":"send attempt failed"');
    expect(text).toContain('"msg":"inbound message"');
    expect(text).toContain('"msg":"webhook signature rejected"');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('holds no full phone number of a recipient, in any spelling', () => {
    const text = logged();
    for (const e164 of RECIPIENTS) {
      expect(text).not.toContain(e164);
      expect(text).not.toContain(encodeURIComponent(e164));
      expect(text).not.toContain(e164.slice(1)); // the digits alone
    }
    // Masked, so a line can still be matched to a message.
    expect(text).toMatch(/"to":"\*\*\*2672","msg":"submitted to Twilio"/);
    expect(text).toContain('"url":"/v1/messages?to=***2671"');
  });

  it('holds no secret: auth token, API key, Authorization values, Twilio signatures, dashboard password', () => {
    const text = logged();
    for (const secret of [AUTH_TOKEN, API_KEY, 'wrong-key-9c1d', DASHBOARD_PASSWORD, ...signatures]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/Bearer |Basic [A-Za-z0-9+/=]{8}/);
  });

  it('holds no message body and no OTP code', () => {
    const text = logged();
    expect(text).not.toContain(OTP_CODE);
    expect(text).not.toContain('Your OTP is');
    expect(text).not.toContain(CARD_BODY);
  });
});
