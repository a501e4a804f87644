import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SID, AUTH_TOKEN, FROM, type Harness, restError, startSim } from './helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startSim();
});
afterAll(async () => {
  await h.sim.close();
});

const messagesPath = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;

describe('magic numbers surface as RestException', () => {
  const fromCases: [string, number][] = [
    ['+15005550001', 21212],
    ['+15005550007', 21606],
    ['+15005550008', 21611],
    ['+14155559999', 21606],
  ];
  it.each(fromCases)('From %s → %i', async (from, code) => {
    const error = await restError(h.client.messages.create({ to: '+14155550123', from, body: 'x' }));
    expect(error).toMatchObject({ status: 400, code, moreInfo: `https://www.twilio.com/docs/errors/${code}` });
  });

  const toCases: [string, number][] = [
    ['+15005550001', 21211],
    ['+15005550002', 21612],
    ['+15005550003', 21408],
    ['+15005550004', 21610],
    ['+15005550009', 21614],
    ['4155550123', 21211],
    ['+1 415 555', 21211],
  ];
  it.each(toCases)('To %s → %i', async (to, code) => {
    const error = await restError(h.client.messages.create({ to, from: FROM, body: 'x' }));
    expect(error).toMatchObject({ status: 400, code });
  });

  it('lets +15005550006 send to an ordinary number', async () => {
    const created = await h.client.messages.create({ to: '+15005550006', from: '+14155550100', body: 'x' });
    expect(created.status).toBe('queued');
  });
});

describe('create validation', () => {
  const cases: [string, Record<string, string>, number][] = [
    ['missing To', { From: FROM, Body: 'x' }, 21604],
    ['missing From and MessagingServiceSid', { To: '+14155550123', Body: 'x' }, 21603],
    ['missing Body', { To: '+14155550123', From: FROM }, 21602],
    ['Body over 1600 characters', { To: '+14155550123', From: FROM, Body: 'x'.repeat(1601) }, 21617],
    ['ValidityPeriod 0', { To: '+14155550123', From: FROM, Body: 'x', ValidityPeriod: '0' }, 21624],
    ['ValidityPeriod 36001', { To: '+14155550123', From: FROM, Body: 'x', ValidityPeriod: '36001' }, 21624],
    ['ValidityPeriod not a number', { To: '+14155550123', From: FROM, Body: 'x', ValidityPeriod: 'soon' }, 21624],
    ['StatusCallback not a URL', { To: '+14155550123', From: FROM, Body: 'x', StatusCallback: 'nope' }, 21609],
  ];
  it.each(cases)('%s', async (_name, form, code) => {
    const response = await h.api<Record<string, unknown>>('POST', messagesPath, form);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      code,
      message: expect.any(String),
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status: 400,
    });
  });

  it('accepts the ValidityPeriod bounds and a 1600-character body', async () => {
    for (const validityPeriod of [1, 36000]) {
      const created = await h.client.messages.create({ to: '+14155550123', from: FROM, body: 'x', validityPeriod });
      expect(created.status).toBe('queued');
    }
    const long = await h.client.messages.create({ to: '+14155550123', from: FROM, body: 'x'.repeat(1600) });
    expect(long.numSegments).toBe('11');
  });

  it('records refused creates in the sim log but not in the Messages list', async () => {
    const to = '+15005550004';
    await restError(h.client.messages.create({ to, from: FROM, body: 'blocked', attempt: 2 }));
    const log = await h.control<{ messages: Record<string, unknown>[] }>(
      'GET',
      `/_sim/messages?to=${encodeURIComponent(to)}`,
    );
    expect(log.body.messages.at(-1)).toEqual(
      expect.objectContaining({
        sid: null,
        to,
        from: FROM,
        body: 'blocked',
        status: 'rejected',
        errorCode: 21610,
        attempt: 2,
        response: { httpStatus: 400, code: 21610 },
        callbacks: [],
      }),
    );
    expect(await h.client.messages.list({ to })).toEqual([]);
  });
});

describe('authentication and routing', () => {
  it('rejects a wrong token with 401 / 20003', async () => {
    const bad = h.clientWith({ password: 'f'.repeat(32) });
    const error = await restError(bad.messages.create({ to: '+14155550123', from: FROM, body: 'x' }));
    expect(error).toMatchObject({ status: 401, code: 20003, message: 'Authenticate' });
    await expect(bad.balance.fetch()).rejects.toMatchObject({ status: 401, code: 20003 });
  });

  it("answers 401 with Twilio's exact body when credentials are missing", async () => {
    const response = await fetch(`${h.base}${messagesPath}`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      code: 20003,
      detail: '',
      message: 'Authenticate',
      more_info: 'https://www.twilio.com/docs/errors/20003',
      status: 401,
    });
  });

  it('answers 404 / 20404 for another account in the path', async () => {
    const other = `AC${'1'.repeat(32)}`;
    const response = await h.api<Record<string, unknown>>('GET', `/2010-04-01/Accounts/${other}/Messages.json`);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: 20404, status: 404 });
    await expect(h.client.api.v2010.accounts(other).fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
  });

  it('answers 404 / 20404 for unknown routes', async () => {
    const response = await h.api<Record<string, unknown>>('GET', `/2010-04-01/Accounts/${ACCOUNT_SID}/Nope.json`);
    expect(response).toMatchObject({
      status: 404,
      body: {
        code: 20404,
        message: `The requested resource /2010-04-01/Accounts/${ACCOUNT_SID}/Nope.json was not found`,
      },
    });
  });

  it('is not fooled by the token as username', async () => {
    const swapped = h.clientWith({ username: ACCOUNT_SID, password: AUTH_TOKEN.toUpperCase() });
    await expect(swapped.api.v2010.account.fetch()).rejects.toMatchObject({ status: 401 });
  });
});
