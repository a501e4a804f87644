import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { AUTH, AUTH_TOKEN, FROM, eventually, signedWebhook, startStack, type Stack } from '../../../test/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

async function send(payload: object) {
  const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
}

interface SimRecord {
  sid: string | null;
  to: string;
  body: string | null;
  statusCallback: string | null;
  validityPeriod: string | number | null;
}
async function atSimulator(to: string): Promise<SimRecord[]> {
  const res = await stack.sim!.app.inject({ url: `/_sim/messages?to=${encodeURIComponent(to)}` });
  return res.json().messages;
}

async function finalMessage(id: string) {
  return eventually(async () => {
    const res = await stack.api.inject({ url: `/v1/messages/${id}`, headers: AUTH });
    const m = res.json();
    return ['delivered', 'undelivered', 'failed', 'expired', 'canceled'].includes(m.status) ? m : undefined;
  });
}

describe('API → BullMQ → worker → Twilio (simulator, real SDK) → signed webhook', () => {
  it('delivers a message and records every status in order', async () => {
    const id = await send({ to: '+14155552671', body: 'Your card ending 4242 was blocked.', category: 'security' });
    const m = await finalMessage(id);
    expect(m).toMatchObject({ status: 'delivered', from: FROM, attempts: 1, errorCode: null });
    expect(m.twilioSid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(m.sentAt).not.toBeNull();
    expect(m.deliveredAt).not.toBeNull();
    expect(m.events.map((e: { status: string; source: string }) => `${e.status}/${e.source}`)).toEqual([
      'queued/api',
      'sending/worker',
      'submitted/worker',
      'sent/webhook',
      'delivered/webhook',
    ]);
    const atSim = (await atSimulator('+14155552671')).filter((r) => r.body?.includes('4242'));
    expect(atSim).toHaveLength(1);
    // The StatusCallback carries our id and the public base URL.
    expect(atSim[0]!.statusCallback).toBe(`${stack.config.publicBaseUrl}/webhooks/twilio/status?mid=${id}`);
    // ValidityPeriod is the time the message had left (security default: 3600 s).
    expect(Number(atSim[0]!.validityPeriod)).toBeGreaterThan(3500);
    expect(Number(atSim[0]!.validityPeriod)).toBeLessThanOrEqual(3600);
  });

  it('fails at once, after one try, on a permanent Twilio error', async () => {
    const id = await send({ to: '+15005550009', body: 'to a landline' }); // magic number: 21614
    const m = await finalMessage(id);
    expect(m).toMatchObject({ status: 'failed', errorCode: 21614, attempts: 1, twilioSid: null });
    expect(m.errorMessage).toBeTruthy();
    expect(m.events.map((e: { status: string }) => e.status)).toEqual(['queued', 'sending', 'failed']);
    expect(m.events.at(-1).errorCode).toBe(21614);
  });

  it('records undelivered with the carrier error code', async () => {
    await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: { undeliveredRate: 1 } });
    try {
      const id = await send({ to: '+14155552672', body: 'will not arrive' });
      const m = await finalMessage(id);
      expect(m).toMatchObject({ status: 'undelivered', errorCode: 30003 });
    } finally {
      await stack.sim!.app.inject({ method: 'POST', url: '/_sim/reset' });
    }
  });

  it('retries a transient error and sends once', async () => {
    await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: { rate429: 1 } });
    const id = await send({ to: '+14155552673', body: 'after a 429' });
    // Until Twilio has refused one create (the claim alone commits before the create is made).
    await eventually(async () => ((await atSimulator('+14155552673')).length >= 1 ? true : undefined));
    await stack.sim!.app.inject({ method: 'POST', url: '/_sim/reset' });
    const m = await finalMessage(id);
    expect(m.status).toBe('delivered');
    expect(m.attempts).toBeGreaterThanOrEqual(2);
    expect((await atSimulator('+14155552673')).filter((r) => r.sid)).toHaveLength(1);
  }, 30_000);
});

describe('status webhook', () => {
  const sid = `SM${'c3'.repeat(16)}`;
  const url = () => `${stack.config.publicBaseUrl}/webhooks/twilio/status`;
  const callback = (params: Record<string, string>, query = '', signature?: string) =>
    signedWebhook(stack, `/webhooks/twilio/status${query}`, params, signature);

  it('refuses a missing or wrong signature with 403 and changes nothing', async () => {
    const waiting = await stack.apiDeps.queues.status.count();
    const params = { MessageSid: sid, MessageStatus: 'delivered', AccountSid: 'AC1' };
    const wrong = await callback(params, '', 'bm90IGEgc2lnbmF0dXJl');
    expect(wrong.statusCode).toBe(403);
    const unsigned = await stack.api.inject({
      method: 'POST',
      url: '/webhooks/twilio/status',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(params).toString(),
    });
    expect(unsigned.statusCode).toBe(403);
    // Signed for other parameters than those sent.
    const tampered = await callback(
      params,
      '',
      twilio.getExpectedTwilioSignature(AUTH_TOKEN, url(), { ...params, MessageStatus: 'sent' }),
    );
    expect(tampered.statusCode).toBe(403);
    expect(await stack.apiDeps.queues.status.count()).toBe(waiting);
  });

  it('never moves a status backwards and adds no event for a repeat', async () => {
    const id = await send({ to: '+14155552674', body: 'ordering' });
    const m = await finalMessage(id);
    const before = m.events.length;
    const q = `?mid=${id}`;
    // Late and repeated callbacks for the delivered message.
    for (const status of ['sent', 'queued', 'delivered', 'failed']) {
      const res = await callback({ MessageSid: m.twilioSid, MessageStatus: status, AccountSid: 'AC1' }, q);
      expect(res.statusCode).toBe(204);
    }
    await new Promise((r) => setTimeout(r, 500));
    const after = (await stack.api.inject({ url: `/v1/messages/${id}`, headers: AUTH })).json();
    expect(after.status).toBe('delivered');
    expect(after.events).toHaveLength(before);
  });
});
