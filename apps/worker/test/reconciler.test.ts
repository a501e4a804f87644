import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, FROM, eventually, signedWebhook, startStack, type Stack } from '../../../test/stack.js';

/**
 * What the worker repairs or refuses after the API accepted a message: the price Twilio's callbacks never
 * carry is fetched later, and a STOP that arrives while a message waits in the queue keeps it from going.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { RECONCILE_INTERVAL_SECONDS: '1', RECONCILE_PRICE_AFTER_SECONDS: '1' } });
});
afterAll(async () => stack.close());

async function send(payload: object): Promise<string> {
  const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}

describe('after acceptance', () => {
  it('records the price Twilio reports once the message is final, and shows it in stats', async () => {
    const id = await send({ to: '+14155550161', body: 'priced #0 a two-segment message '.repeat(6) });
    const row = await eventually(async () => {
      const m = await stack.prisma.message.findUniqueOrThrow({ where: { id } });
      return m.status === 'delivered' && m.price !== null ? m : undefined;
    }, 20_000);
    expect(row.segments).toBe(2);
    expect(row.priceUnit).toBe('USD');
    expect(Number(row.price)).toBeLessThan(0); // Twilio reports charges as negative amounts
    expect(row.priceChecks).toBe(1);
    const detail = (await stack.api.inject({ url: `/v1/messages/${id}`, headers: AUTH })).json();
    expect(detail).toMatchObject({ price: row.price!.toString(), priceUnit: 'USD' });
    const stats = (await stack.api.inject({ url: '/v1/stats', headers: AUTH })).json();
    expect(stats.totals).toMatchObject({ priced: 1, cost: { USD: (-Number(row.price)).toFixed(5) } });
  });

  it('a STOP that arrives while the message waits keeps it from being sent', async () => {
    await stack.workers!.send.pause();
    const to = '+14155550162';
    const id = await send({ to, body: 'stopped #0 your statement is ready' });
    const stop = await signedWebhook(stack, '/webhooks/twilio/inbound', {
      From: to,
      To: FROM,
      Body: 'STOP',
      MessageSid: `SM${'c'.repeat(32)}`,
      AccountSid: stack.config.twilio.accountSid!,
    });
    expect(stop.statusCode).toBe(200);
    stack.workers!.send.resume();
    const row = await eventually(async () => {
      const m = await stack.prisma.message.findUniqueOrThrow({ where: { id } });
      return m.status === 'failed' ? m : undefined;
    });
    expect(row).toMatchObject({ errorCode: 21610, attempts: 0, twilioSid: null });
    const sent: { body: string | null }[] = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json().messages;
    expect(sent.some((m) => m.body?.startsWith('stopped #0'))).toBe(false);
  });

  it("a retry does not adopt another message's Twilio send of the same text", async () => {
    const to = '+14155550163';
    const text = 'twin #0 your card ending 4242 was used';
    const first = await send({ to, body: text });
    const a = await eventually(async () => {
      const m = await stack.prisma.message.findUniqueOrThrow({ where: { id: first } });
      return m.status === 'delivered' ? m : undefined;
    });
    // The same text again (a caller retrying without an Idempotency-Key); its first try gets a 500, so the
    // retry looks at Twilio first and finds the first message's send there.
    await stack.sim!.app.inject({
      method: 'POST',
      url: '/_sim/faults',
      payload: { errorRate: 1, errorCodes: [20500] },
    });
    const second = await send({ to, body: text });
    await eventually(async () => {
      const m = await stack.prisma.message.findUniqueOrThrow({ where: { id: second } });
      return m.attempts >= 1 && m.status === 'sending' ? true : undefined;
    });
    await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: {} });
    const b = await eventually(async () => {
      const m = await stack.prisma.message.findUniqueOrThrow({ where: { id: second } });
      return m.status === 'delivered' ? m : undefined;
    }, 20_000);
    expect(b.twilioSid).not.toBe(a.twilioSid);
    const sent: { body: string | null; sid: string | null }[] = (
      await stack.sim!.app.inject({ url: '/_sim/messages' })
    ).json().messages;
    expect(sent.filter((m) => m.sid && m.body === text)).toHaveLength(2);
  });
});
