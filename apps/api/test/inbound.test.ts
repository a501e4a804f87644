import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { buildApp } from '../src/app.js';
import { AUTH, AUTH_TOKEN, signedWebhook, startStack, type Stack } from '../../../test/stack.js';

const INBOUND = '/webhooks/twilio/inbound';
const EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
const reply = (text: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${text.replace(/&/g, '&amp;')}</Message></Response>`;
const UNSUBSCRIBED =
  'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.';
const RESUBSCRIBED =
  'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.';
const HELP = 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false });
});
afterAll(async () => {
  await stack.close();
});

let sids = 0;
/** Twilio's incoming-message fields, as it posts them. */
const inbound = (from: string, body: string) => ({
  MessageSid: `SM${(++sids).toString(16).padStart(32, '0')}`,
  SmsSid: `SM${sids.toString(16).padStart(32, '0')}`,
  AccountSid: `AC${'a1'.repeat(16)}`,
  From: from,
  To: '+15005550006',
  Body: body,
  NumMedia: '0',
  NumSegments: '1',
  FromCountry: 'US',
  ApiVersion: '2010-04-01',
});

const send = (to: string) =>
  stack.api.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload: { to, body: 'Your code is ready' } });
const optOutRow = (phone: string) => stack.prisma.optOut.findUnique({ where: { phone } });

describe('POST /webhooks/twilio/inbound', () => {
  it('STOP opts the number out with a TwiML confirmation, and intake then refuses it; START lets it back', async () => {
    const phone = '+14155550101';
    expect((await send(phone)).statusCode).toBe(202);

    const stop = await signedWebhook(stack, INBOUND, inbound(phone, 'STOP'));
    expect(stop.statusCode).toBe(200);
    expect(stop.headers['content-type']).toMatch(/^application\/xml/);
    expect(stop.body).toBe(reply(UNSUBSCRIBED));
    expect(await optOutRow(phone)).toMatchObject({ optedOut: true, reason: 'STOP', source: 'inbound' });

    const refused = await send(phone);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toEqual({ error: expect.objectContaining({ code: 'recipient_opted_out', field: 'to' }) });

    const start = await signedWebhook(stack, INBOUND, inbound(phone, 'Start'));
    expect(start.statusCode).toBe(200);
    expect(start.body).toBe(reply(RESUBSCRIBED));
    expect(await optOutRow(phone)).toMatchObject({ optedOut: false, reason: 'START', source: 'inbound' });
    expect((await send(phone)).statusCode).toBe(202);
  });

  it.each([
    ['STOPALL', 'STOPALL'],
    ['unsubscribe', 'UNSUBSCRIBE'],
    ['Cancel', 'CANCEL'],
    ['end', 'END'],
    ['QUIT', 'QUIT'],
    [' stop ', 'STOP'],
    ['\nStop\t', 'STOP'],
  ])('%j opts out (any case, surrounding blanks ignored)', async (body, keyword) => {
    const phone = `+1415555${String(200 + sids).padStart(4, '0')}`;
    const res = await signedWebhook(stack, INBOUND, inbound(phone, body));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(reply(UNSUBSCRIBED));
    expect(await optOutRow(phone)).toMatchObject({ optedOut: true, reason: keyword });
    expect((await send(phone)).json().error.code).toBe('recipient_opted_out');
  });

  it.each(['YES', 'unstop'])('%s opts back in', async (body) => {
    const phone = `+1415555${String(300 + sids).padStart(4, '0')}`;
    await signedWebhook(stack, INBOUND, inbound(phone, 'STOP'));
    const res = await signedWebhook(stack, INBOUND, inbound(phone, body));
    expect(res.body).toBe(reply(RESUBSCRIBED));
    expect((await optOutRow(phone))?.optedOut).toBe(false);
    expect((await send(phone)).statusCode).toBe(202);
  });

  it.each(['HELP', ' info '])('%j answers with the help text and changes nothing', async (body) => {
    const phone = '+14155550401';
    const res = await signedWebhook(stack, INBOUND, inbound(phone, body));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(reply(HELP));
    expect(await optOutRow(phone)).toBeNull();
  });

  it.each(['Stop please', 'thanks!', '', 'STOP STOP'])(
    'answers %j, which is no keyword, with an empty <Response/>',
    async (body) => {
      const phone = '+14155550501';
      const res = await signedWebhook(stack, INBOUND, inbound(phone, body));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(EMPTY);
      expect(await optOutRow(phone)).toBeNull();
    },
  );

  it('keys the opt-out by E.164, whichever way the caller writes the number', async () => {
    await signedWebhook(stack, INBOUND, inbound('+442071838750', 'stop'));
    expect(await optOutRow('+442071838750')).toMatchObject({ optedOut: true });
    expect((await send('+44 20 7183 8750')).json().error.code).toBe('recipient_opted_out');
  });

  it('records nothing for a sender that is not a phone number (short code)', async () => {
    const res = await signedWebhook(stack, INBOUND, inbound('12345', 'STOP'));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(EMPTY);
    expect(await stack.prisma.optOut.count({ where: { phone: { contains: '12345' } } })).toBe(0);
  });

  it('refuses a missing, wrong or mismatched signature with 403 and records no opt-out', async () => {
    const phone = '+14155550601';
    const params = inbound(phone, 'STOP');
    const forged = await signedWebhook(stack, INBOUND, params, 'bm90IGEgc2lnbmF0dXJl');
    expect(forged.statusCode).toBe(403);
    const unsigned = await stack.api.inject({
      method: 'POST',
      url: INBOUND,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(params).toString(),
    });
    expect(unsigned.statusCode).toBe(403);
    // Twilio's signature of a harmless message, sent with STOP in its place.
    const harmless = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${stack.config.publicBaseUrl}${INBOUND}`, {
      ...params,
      Body: 'hello',
    });
    expect((await signedWebhook(stack, INBOUND, params, harmless)).statusCode).toBe(403);
    expect(forged.json().error.code).toBe('forbidden');
    expect(await optOutRow(phone)).toBeNull();
    expect((await send(phone)).statusCode).toBe(202);
  });

  it('answers 400 to a signed request without the fields an inbound message has', async () => {
    const res = await signedWebhook(stack, INBOUND, { Body: 'STOP' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
  });

  it('with INBOUND_KEYWORD_REPLIES off, still opts out but leaves the replies to Twilio', async () => {
    const quiet = await buildApp({ ...stack.apiDeps, config: { ...stack.config, inboundKeywordReplies: false } });
    try {
      const phone = '+14155550701';
      const res = await signedWebhook({ api: quiet, config: stack.config }, INBOUND, inbound(phone, 'STOP'));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(EMPTY);
      expect((await optOutRow(phone))?.optedOut).toBe(true);
    } finally {
      await quiet.close();
    }
  });

  it('counts the keywords it acted on in /metrics', async () => {
    const count = async (keyword: string) => {
      const text = (await stack.api.inject({ url: '/metrics' })).body;
      const m = new RegExp(`^smsq_inbound_keywords_total\\{keyword="${keyword}"\\} (\\d+)$`, 'm').exec(text);
      return Number(m?.[1] ?? 0);
    };
    const before = await count('opt_out');
    await signedWebhook(stack, INBOUND, inbound('+14155550801', 'QUIT'));
    await signedWebhook(stack, INBOUND, inbound('+14155550801', 'QUIT'), 'forged');
    expect((await count('opt_out')) - before).toBe(1);
  });
});
