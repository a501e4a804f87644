import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNT_SID, FROM, type Harness, OWNED, startSim } from './helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startSim({ callbackDelayMs: 50 });
});
afterEach(async () => {
  await h.sim.close();
});

describe('Messages via the twilio SDK', () => {
  it('creates a queued message and fetches it', async () => {
    const created = await h.client.messages.create({ to: '+14155550123', from: FROM, body: 'hello' });
    expect(created.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(created).toMatchObject({
      accountSid: ACCOUNT_SID,
      status: 'queued',
      to: '+14155550123',
      from: FROM,
      body: 'hello',
      numSegments: '1',
      numMedia: '0',
      direction: 'outbound-api',
      price: null,
      errorCode: null,
      dateSent: null,
      apiVersion: '2010-04-01',
      uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${created.sid}.json`,
    });
    expect(created.dateCreated).toBeInstanceOf(Date);
    expect(Math.abs(created.dateCreated.getTime() - Date.now())).toBeLessThan(5000);

    const fetched = await h.client.messages(created.sid).fetch();
    expect(fetched.sid).toBe(created.sid);
    expect(fetched.body).toBe('hello');
  });

  it('accepts a message from any owned number', async () => {
    const created = await h.client.messages.create({ to: '+14155550123', from: OWNED, body: 'hi' });
    expect(created.from).toBe(OWNED);
  });

  it('starts Messaging Service sends as accepted with no sender yet, then picks one', async () => {
    const messagingServiceSid = `MG${'a'.repeat(32)}`;
    const created = await h.client.messages.create({ to: '+14155550123', messagingServiceSid, body: 'hi' });
    expect(created).toMatchObject({ status: 'accepted', from: null, numSegments: '0', messagingServiceSid });
    await new Promise((resolve) => setTimeout(resolve, 80));
    const sent = await h.client.messages(created.sid).fetch();
    expect(sent).toMatchObject({ status: 'sent', from: FROM, numSegments: '1' });
  });

  it('counts GSM-7 and UCS-2 segments', async () => {
    const cases: [string, string][] = [
      ['a'.repeat(160), '1'],
      ['a'.repeat(161), '2'],
      ['a'.repeat(306), '2'],
      ['a'.repeat(307), '3'],
      ['{'.repeat(80), '1'],
      ['{'.repeat(81), '2'],
      ['é'.repeat(160), '1'],
      ['ж'.repeat(70), '1'],
      ['ж'.repeat(71), '2'],
      [`${'a'.repeat(152)}ж`, '3'],
      ['😀'.repeat(35), '1'],
      ['😀'.repeat(36), '2'],
    ];
    for (const [body, segments] of cases) {
      const created = await h.client.messages.create({ to: '+14155550123', from: FROM, body });
      expect({ length: body.length, segments: created.numSegments }).toEqual({ length: body.length, segments });
    }
  });

  it('answers 404 / 20404 for an unknown message sid', async () => {
    await expect(h.client.messages(`SM${'0'.repeat(32)}`).fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
  });

  it('lists newest first, filtered by To and From', async () => {
    const first = await h.client.messages.create({ to: '+14155550001', from: FROM, body: 'one' });
    const second = await h.client.messages.create({ to: '+14155550001', from: OWNED, body: 'two' });
    await h.client.messages.create({ to: '+14155550002', from: FROM, body: 'three' });

    const toFirst = await h.client.messages.list({ to: '+14155550001' });
    expect(toFirst.map((m) => m.sid)).toEqual([second.sid, first.sid]);
    const fromFirst = await h.client.messages.list({ to: '+14155550001', from: FROM });
    expect(fromFirst.map((m) => m.sid)).toEqual([first.sid]);
    expect(await h.client.messages.list({ from: '+14155559999' })).toEqual([]);
  });

  it('filters by DateSent (day or timestamp) and includes just-created messages', async () => {
    const before = new Date(Date.now() - 2000);
    const created = await h.client.messages.create({ to: '+14155550001', from: FROM, body: 'one' });
    const found = await h.client.messages.list({ to: '+14155550001', from: FROM, dateSentAfter: before, limit: 20 });
    expect(found.map((m) => m.sid)).toEqual([created.sid]);
    expect(await h.client.messages.list({ dateSentAfter: new Date(Date.now() + 5000) })).toEqual([]);
    expect(await h.client.messages.list({ dateSentBefore: new Date(Date.now() - 60_000) })).toEqual([]);

    const today = new Date().toISOString().slice(0, 10);
    const path = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
    const byDay = await h.api<{ messages: { sid: string }[] }>('GET', `${path}?DateSent=${today}`);
    expect(byDay.body.messages.map((m) => m.sid)).toEqual([created.sid]);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const beforeToday = await h.api<{ messages: unknown[] }>(
      'GET',
      `${path}?${encodeURIComponent('DateSent<')}=${yesterday}`,
    );
    expect(beforeToday.body.messages).toEqual([]);
    const bad = await h.api<{ code: number }>('GET', `${path}?DateSent=not-a-date`);
    expect(bad).toMatchObject({ status: 400, body: { code: 20001 } });
  });

  it('pages with Twilio envelopes that the SDK follows', async () => {
    const sids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      sids.push((await h.client.messages.create({ to: '+14155550001', from: FROM, body: `m${i}` })).sid);
    }
    const newestFirst = [...sids].reverse();
    expect((await h.client.messages.list({ pageSize: 2 })).map((m) => m.sid)).toEqual(newestFirst);
    expect((await h.client.messages.list({ limit: 3 })).map((m) => m.sid)).toEqual(newestFirst.slice(0, 3));

    const page = await h.client.messages.page({ pageSize: 2 });
    expect(page.instances.map((m) => m.sid)).toEqual(newestFirst.slice(0, 2));
    const next = await page.nextPage();
    expect(next?.instances.map((m) => m.sid)).toEqual(newestFirst.slice(2, 4));
    const previous = await next?.previousPage();
    expect(previous?.instances.map((m) => m.sid)).toEqual(newestFirst.slice(0, 2));
  });

  it('answers with the documented page envelope', async () => {
    for (let i = 0; i < 3; i += 1) await h.client.messages.create({ to: '+14155550001', from: FROM, body: `m${i}` });
    const path = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
    const { body } = await h.api<Record<string, unknown>>('GET', `${path}?To=%2B14155550001&PageSize=2`);
    expect(body).toMatchObject({
      page: 0,
      page_size: 2,
      start: 0,
      end: 1,
      previous_page_uri: null,
      first_page_uri: `${path}?To=%2B14155550001&PageSize=2&Page=0`,
      uri: `${path}?To=%2B14155550001&PageSize=2&Page=0`,
    });
    expect(body.next_page_uri).toMatch(
      /^\/2010-04-01\/Accounts\/AC\w+\/Messages\.json\?To=%2B14155550001&PageSize=2&Page=1&PageToken=PASM\w{32}$/,
    );
    const big = await h.api<{ page_size: number }>('GET', `${path}?PageSize=5000`);
    expect(big.body.page_size).toBe(1000);
  });
});
