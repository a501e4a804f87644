import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractViolations, schema } from './helpers/contract.js';
import { startCallbackServer, type CallbackServer } from './helpers/callback-server.js';
import { ACCOUNT_SID, eventually, FROM, type Harness, startSim } from './helpers/harness.js';

/** Checked against Twilio's own OpenAPI schemas (test/fixtures/twilio-schemas.json, from scripts/extract-schemas.ts). */
let h: Harness;
let callbacks: CallbackServer;
beforeAll(async () => {
  h = await startSim();
  callbacks = await startCallbackServer();
});
afterAll(async () => {
  await h.sim.close();
  await callbacks.close();
});

const account = `/2010-04-01/Accounts/${ACCOUNT_SID}`;
const MESSAGE = 'api.v2010.account.message';

async function create(form: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await h.api<Record<string, unknown>>('POST', `${account}/Messages.json`, form);
  expect(response.status).toBe(201);
  return response.body;
}

describe('responses match the v2010 OpenAPI schemas', () => {
  it('message resource from create and fetch, at every status', async () => {
    await h.control('POST', '/_sim/faults', { undeliveredRate: 1 });
    try {
      const plain = await create({ To: '+14155550123', From: FROM, Body: 'hi', StatusCallback: callbacks.url });
      const viaService = await create({ To: '+14155550123', MessagingServiceSid: `MG${'b'.repeat(32)}`, Body: 'hi' });
      expect(contractViolations(schema(MESSAGE), plain)).toEqual([]);
      expect(contractViolations(schema(MESSAGE), viaService)).toEqual([]);
      expect(plain.sid).toMatch(/^SM[0-9a-f]{32}$/);
      expect(plain.account_sid).toBe(ACCOUNT_SID);

      await eventually(() => (callbacks.received.length >= 2 ? true : undefined));
      const final = await h.api<Record<string, unknown>>('GET', `${account}/Messages/${String(plain.sid)}.json`);
      expect(final.body).toMatchObject({
        status: 'undelivered',
        error_code: 30003,
        price: '-0.00790',
        price_unit: 'USD',
      });
      expect(final.body.date_sent).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
      expect(contractViolations(schema(MESSAGE), final.body)).toEqual([]);
    } finally {
      await h.control('POST', '/_sim/reset');
    }
  });

  it('message list page', async () => {
    await create({ To: '+14155550123', From: FROM, Body: 'hi' });
    const page = await h.api('GET', `${account}/Messages.json?PageSize=1`);
    expect(contractViolations(schema('ListMessageResponse'), page.body)).toEqual([]);
  });

  it('account, incoming phone numbers and balance', async () => {
    const accountJson = await h.api('GET', `${account}.json`);
    expect(contractViolations(schema('api.v2010.account'), accountJson.body)).toEqual([]);
    const numbers = await h.api('GET', `${account}/IncomingPhoneNumbers.json`);
    expect(contractViolations(schema('ListIncomingPhoneNumberResponse'), numbers.body)).toEqual([]);
    const balance = await h.api('GET', `${account}/Balance.json`);
    expect(contractViolations(schema('api.v2010.account.balance'), balance.body)).toEqual([]);
  });

  it('the checker itself catches wrong types, nulls and patterns', () => {
    const broken = { sid: 'XX1', num_segments: 1, status: 'lost', error_code: '30003' };
    const problems = contractViolations(schema(MESSAGE), broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('$.sid'),
        expect.stringContaining('$.num_segments'),
        expect.stringContaining('$.status'),
        expect.stringContaining('$.error_code'),
        '$.body: missing',
      ]),
    );
  });
});
