import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSim, type Sim } from '@smsq/twilio-sim';
import { ACCOUNT_SID, AUTH_TOKEN } from '../../../test/stack.js';
import { cli } from './cli.js';

let sim: Sim;
let env: Record<string, string>;
beforeAll(async () => {
  sim = await buildSim({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    phoneNumbers: ['+15005550006', '+442071838750'],
  });
  env = {
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: await sim.app.listen({ port: 0, host: '127.0.0.1' }),
  };
});
afterAll(async () => {
  await sim?.close();
});

describe('smsq account-info', () => {
  it("prints the account's name, status, type and balance", async () => {
    const { code, stdout } = await cli(['account-info'], env);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Account +${ACCOUNT_SID}$`, 'm'));
    expect(stdout).toMatch(/^Name +smsq Twilio simulator$/m);
    expect(stdout).toMatch(/^Status +active$/m);
    expect(stdout).toMatch(/^Type +Full$/m);
    expect(stdout).toMatch(/^Balance +20\.00 USD$/m);
  });

  it('prints one JSON object with --json', async () => {
    const { code, stdout } = await cli(['--json', 'account-info'], env);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      ok: true,
      account: {
        sid: ACCOUNT_SID,
        friendlyName: 'smsq Twilio simulator',
        status: 'active',
        type: 'Full',
        balance: '20.00',
        currency: 'USD',
      },
    });
  });

  it('says plainly when Twilio refuses the credentials', async () => {
    const human = await cli(['account-info'], { ...env, TWILIO_AUTH_TOKEN: 'wrong' });
    expect(human.code).toBe(1);
    expect(human.stdout).toBe('');
    expect(human.stderr).toBe(
      'smsq account-info: Twilio refused the credentials (error 20003): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN\n',
    );
    const json = await cli(['account-info', '--json'], { ...env, TWILIO_AUTH_TOKEN: 'wrong' });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { message: expect.stringContaining('20003') } });
  });

  it('says which setting is missing', async () => {
    const { code, stderr } = await cli(['account-info'], { TWILIO_ACCOUNT_SID: ACCOUNT_SID });
    expect(code).toBe(1);
    expect(stderr).toContain('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set');
  });
});

describe('smsq phone-numbers', () => {
  it('lists each number with its friendly name and capabilities', async () => {
    const { code, stdout } = await cli(['phone-numbers'], env);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      '+15005550006   (500) 555-0006  voice, sms, mms',
      '+442071838750  +442071838750   voice, sms, mms',
    ]);
  });

  it('prints one JSON object with --json', async () => {
    const { code, stdout } = await cli(['phone-numbers', '--json'], env);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.ok).toBe(true);
    expect(result.phoneNumbers).toEqual([
      {
        phoneNumber: '+15005550006',
        friendlyName: '(500) 555-0006',
        capabilities: { voice: true, sms: true, mms: true, fax: false },
      },
      {
        phoneNumber: '+442071838750',
        friendlyName: '+442071838750',
        capabilities: { voice: true, sms: true, mms: true, fax: false },
      },
    ]);
  });
});

describe('usage', () => {
  it('documents the exit codes in --help', async () => {
    for (const argv of [['--help'], ['check-setup', '--help'], ['send', '--help']]) {
      const { code, stdout } = await cli(argv, {});
      expect(code).toBe(0);
      expect(stdout).toContain('Exit codes:');
      expect(stdout).toMatch(/^ {2}2 {2}usage error/m);
    }
  });

  it('exits 2 on an unknown command, a missing argument or a bad option', async () => {
    for (const argv of [[], ['bogus'], ['test-2fa'], ['send'], ['send', '--to', '+1', '--timeout', 'soon']]) {
      const { code, stderr } = await cli(argv, { SMSQ_API_KEY: 'k' });
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr).not.toBe('');
    }
  });
});
