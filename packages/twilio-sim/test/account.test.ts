import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SID, FROM, type Harness, OWNED, startSim } from './helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startSim();
});
afterAll(async () => {
  await h.sim.close();
});

describe('account resources via the twilio SDK', () => {
  it('fetches an active Full account', async () => {
    const account = await h.client.api.v2010.account.fetch();
    expect(account).toMatchObject({ sid: ACCOUNT_SID, ownerAccountSid: ACCOUNT_SID, status: 'active', type: 'Full' });
    expect(account.subresourceUris).toMatchObject({
      messages: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`,
      incoming_phone_numbers: `/2010-04-01/Accounts/${ACCOUNT_SID}/IncomingPhoneNumbers.json`,
      balance: `/2010-04-01/Accounts/${ACCOUNT_SID}/Balance.json`,
    });
    expect(account.dateCreated).toBeInstanceOf(Date);
  });

  it('lists owned numbers with SMS capability, filtered by PhoneNumber', async () => {
    const numbers = await h.client.incomingPhoneNumbers.list();
    expect(numbers.map((n) => n.phoneNumber)).toEqual([FROM, OWNED]);
    expect(numbers[0]).toMatchObject({
      friendlyName: '(500) 555-0006',
      capabilities: { voice: true, sms: true, mms: true, fax: false },
      accountSid: ACCOUNT_SID,
    });
    expect(numbers[0]?.sid).toMatch(/^PN[0-9a-f]{32}$/);

    expect((await h.client.incomingPhoneNumbers.list({ phoneNumber: OWNED })).map((n) => n.phoneNumber)).toEqual([
      OWNED,
    ]);
    expect((await h.client.incomingPhoneNumbers.list({ phoneNumber: '+1415*' })).map((n) => n.phoneNumber)).toEqual([
      OWNED,
    ]);
    expect(await h.client.incomingPhoneNumbers.list({ phoneNumber: '+19998887777' })).toEqual([]);
  });

  it('fetches the balance', async () => {
    const balance = await h.client.balance.fetch();
    expect(balance).toMatchObject({ accountSid: ACCOUNT_SID, balance: '20.00', currency: 'USD' });
  });

  it('keeps the same number SIDs across sims', async () => {
    const other = await startSim();
    try {
      const [mine, theirs] = await Promise.all([
        h.client.incomingPhoneNumbers.list(),
        other.client.incomingPhoneNumbers.list(),
      ]);
      expect(theirs.map((n) => n.sid)).toEqual(mine.map((n) => n.sid));
    } finally {
      await other.sim.close();
    }
  });
});
