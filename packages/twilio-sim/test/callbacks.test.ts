import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CallbackServer, startCallbackServer } from './helpers/callback-server.js';
import { ACCOUNT_SID, AUTH_TOKEN, eventually, FROM, type Harness, startSim } from './helpers/harness.js';

let h: Harness;
let server: CallbackServer;
beforeEach(async () => {
  h = await startSim({ callbackDelayMs: 10 });
  server = await startCallbackServer();
});
afterEach(async () => {
  await h.sim.close();
  await server.close();
});

const TO = '+14155550123';

function statuses(): string[] {
  return server.received.map((callback) => callback.params.MessageStatus ?? '');
}

describe('status callbacks', () => {
  it('posts sent then delivered, signed so twilio.validateRequest accepts them', async () => {
    const url = `${server.url}/twilio/status?tenant=a%20b&x=1`;
    const message = await h.client.messages.create({ to: TO, from: FROM, body: 'hello', statusCallback: url });
    await eventually(() => (server.received.length === 2 ? true : undefined));

    expect(statuses()).toEqual(['sent', 'delivered']);
    for (const callback of server.received) {
      expect(callback.url).toBe(url);
      expect(callback.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(callback.headers.connection).toBe('keep-alive');
      const signature = callback.headers['x-twilio-signature'];
      expect(typeof signature).toBe('string');
      expect(twilio.validateRequest(AUTH_TOKEN, String(signature), callback.url, callback.params)).toBe(true);
      expect(twilio.validateRequest('0'.repeat(32), String(signature), callback.url, callback.params)).toBe(false);
      expect(callback.headers['i-twilio-idempotency-token']).toEqual(expect.any(String));
    }
    const [sent, delivered] = server.received;
    expect(sent?.params).toEqual({
      MessageSid: message.sid,
      SmsSid: message.sid,
      AccountSid: ACCOUNT_SID,
      From: FROM,
      To: TO,
      MessageStatus: 'sent',
      SmsStatus: 'sent',
      ApiVersion: '2010-04-01',
    });
    expect(delivered?.params).toMatchObject({ MessageStatus: 'delivered', SmsStatus: 'delivered' });
    expect(delivered?.params.RawDlrDoneDate).toMatch(/^\d{10}$/);
    expect(delivered?.params).not.toHaveProperty('ErrorCode');
    expect(sent?.headers['i-twilio-idempotency-token']).not.toBe(delivered?.headers['i-twilio-idempotency-token']);

    const fetched = await h.client.messages(message.sid).fetch();
    expect(fetched).toMatchObject({ status: 'delivered', price: '-0.00790', priceUnit: 'USD', errorCode: null });
    expect(fetched.dateSent).toBeInstanceOf(Date);
  });

  it('prices by segment once delivered', async () => {
    const message = await h.client.messages.create({ to: TO, from: FROM, body: 'ж'.repeat(140) });
    const delivered = await eventually(() => {
      const entry = h.sim.state.message(message.sid);
      return entry?.status === 'delivered' ? entry : undefined;
    });
    expect(delivered.price).toBe('-0.02370');
  });

  it('ends undelivered with ErrorCode 30003 when undeliveredRate is 1', async () => {
    await h.control('POST', '/_sim/faults', { undeliveredRate: 1 });
    const message = await h.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: server.url });
    await eventually(() => (server.received.length === 2 ? true : undefined));
    expect(server.received[1]?.params).toMatchObject({ MessageStatus: 'undelivered', ErrorCode: '30003' });
    expect(server.received[1]?.params.RawDlrDoneDate).toMatch(/^\d{10}$/);
    expect(await h.client.messages(message.sid).fetch()).toMatchObject({
      status: 'undelivered',
      errorCode: 30003,
      price: '-0.00790',
    });
  });

  it('ends failed with ErrorCode 30008 and no charge when failedRate is 1', async () => {
    await h.control('POST', '/_sim/faults', { failedRate: 1 });
    const message = await h.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: server.url });
    await eventually(() => (server.received.length === 2 ? true : undefined));
    expect(statuses()).toEqual(['sent', 'failed']);
    expect(server.received[1]?.params).toMatchObject({ ErrorCode: '30008' });
    expect(server.received[1]?.params).not.toHaveProperty('RawDlrDoneDate');
    expect(await h.client.messages(message.sid).fetch()).toMatchObject({
      status: 'failed',
      errorCode: 30008,
      price: null,
    });
  });

  it('includes MessagingServiceSid and the picked sender for Messaging Service sends', async () => {
    const messagingServiceSid = `MG${'c'.repeat(32)}`;
    await h.client.messages.create({ to: TO, messagingServiceSid, body: 'x', statusCallback: server.url });
    await eventually(() => (server.received.length === 2 ? true : undefined));
    expect(server.received[0]?.params).toMatchObject({ MessagingServiceSid: messagingServiceSid, From: FROM });
  });

  it('retries once with the same idempotency token when the endpoint fails', async () => {
    server.respondWith.push(500);
    const message = await h.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: server.url });
    await eventually(() => (server.received.length === 3 ? true : undefined));
    expect(statuses()).toEqual(['sent', 'sent', 'delivered']);
    const [first, retry] = server.received;
    expect(retry?.headers['i-twilio-idempotency-token']).toBe(first?.headers['i-twilio-idempotency-token']);
    expect(retry?.headers['x-twilio-signature']).toBe(first?.headers['x-twilio-signature']);

    const log = await h.control<{
      messages: { sid: string; callbacks: { status: string; httpStatus: number | null }[] }[];
    }>('GET', '/_sim/messages');
    expect(log.body.messages[0]?.sid).toBe(message.sid);
    expect(log.body.messages[0]?.callbacks.map(({ status, httpStatus }) => ({ status, httpStatus }))).toEqual([
      { status: 'sent', httpStatus: 500 },
      { status: 'sent', httpStatus: 204 },
      { status: 'delivered', httpStatus: 204 },
    ]);
  });

  it('gives up after one retry and records unreachable endpoints', async () => {
    const closed = await startCallbackServer();
    const deadUrl = `${closed.url}/gone`;
    await closed.close();
    const message = await h.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: deadUrl });
    await eventually(() => (h.sim.state.message(message.sid)?.status === 'delivered' ? true : undefined));
    await eventually(() => (h.sim.state.received[0]?.callbacks.length === 4 ? true : undefined));
    expect(h.sim.state.received[0]?.callbacks.map((c) => c.httpStatus)).toEqual([null, null, null, null]);
    const stats = await h.control<{ callbacks: { sent: number; failed: number } }>('GET', '/_sim/stats');
    expect(stats.body.callbacks).toEqual({ sent: 0, failed: 4 });
  });

  it('sends no callback without StatusCallback but still progresses the status', async () => {
    const message = await h.client.messages.create({ to: TO, from: FROM, body: 'x' });
    await eventually(() => (h.sim.state.message(message.sid)?.status === 'delivered' ? true : undefined));
    expect(server.received).toEqual([]);
  });
});
