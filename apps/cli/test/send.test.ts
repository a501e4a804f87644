import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, AUTH, startStack, type Stack } from '../../../test/stack.js';
import { cli } from './cli.js';

let stack: Stack;
let env: Record<string, string>;
beforeAll(async () => {
  stack = await startStack();
  env = { SMSQ_API_URL: stack.config.publicBaseUrl, SMSQ_API_KEY: API_KEY };
});
afterAll(async () => {
  await stack.close();
});

describe('smsq send', () => {
  it('sends through the queue, prints every status and exits 0 once delivered', async () => {
    const { code, stdout, stderr } = await cli(['send', '--to', '+14155552671', '--body', 'hello from the CLI'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Accepted \S+ for \+14155552671 \(transaction, 1 segment\(s\), GSM-7\)\.$/m);
    const statuses = [...stdout.matchAll(/^ {2}\d\d:\d\d:\d\d\.\d{3} {2}(\w+)/gm)].map((m) => m[1]);
    expect(statuses).toEqual(['queued', 'sending', 'submitted', 'sent', 'delivered']);
    expect(stdout.trim().split('\n').at(-1)).toBe('Delivered.');
  });

  it('exits 1 with the Twilio error when the message fails', async () => {
    const { code, stderr } = await cli(['send', '--to', '+15005550009', '--category', 'security'], env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^Not delivered: failed \(error 21614: .+\)\.$/m);
  });

  it('prints one JSON object with --json', async () => {
    const { code, stdout } = await cli(['send', '--json', '--to', '+14155552672'], env);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ ok: true, timedOut: false, accepted: { to: '+14155552672' } });
    expect(result.message).toMatchObject({ id: result.accepted.id, status: 'delivered' });
    expect(result.message.events).toHaveLength(5);

    const failed = await cli(['--json', 'send', '--to', '+15005550009'], env);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ ok: false, message: { status: 'failed', errorCode: 21614 } });
  });

  it('exits 1 when the message is not final in time', async () => {
    await stack.workers!.send.pause();
    try {
      const { code, stderr } = await cli(['send', '--to', '+14155552673', '--timeout', '0.3'], env);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^Still queued after 0\.3 s; see GET \/v1\/messages\/\S+\.$/m);
    } finally {
      stack.workers!.send.resume();
    }
  });

  it("prints the API's refusal plainly", async () => {
    const badKey = await cli(['send', '--to', '+14155552671', '--api-key', 'nope'], env);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/^smsq send: the API answered 401 unauthorized: /);
    const badNumber = await cli(['send', '--json', '--to', '+1 555'], env);
    expect(badNumber.code).toBe(1);
    expect(JSON.parse(badNumber.stdout)).toMatchObject({
      ok: false,
      error: { status: 400, code: 'invalid_phone_number', field: 'to' },
    });
  });

  it('says when the API cannot be reached, and needs an API key', async () => {
    const down = await cli(['send', '--to', '+14155552671', '--api-url', 'http://127.0.0.1:9'], env);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^smsq send: cannot reach the API at http:\/\/127\.0\.0\.1:9: /);
    const noKey = await cli(['send', '--to', '+14155552671'], { SMSQ_API_URL: env.SMSQ_API_URL });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('pass --api-key or set SMSQ_API_KEY');
  });
});

describe('smsq test-2fa and test-notification', () => {
  it('test-2fa asks POST /v1/otp and prints its refusal for an unknown user', async () => {
    const { code, stderr } = await cli(['test-2fa', 'u_nobody'], env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^smsq test-2fa: the API answered 404 (not_found|unknown_recipient): /);
    const json = await cli(['test-2fa', 'u_nobody', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { status: 404 } });
  });

  it('test-notification asks POST /v1/messages for the user and prints its refusal', async () => {
    const { code, stderr } = await cli(['test-notification', 'u_nobody', '--data', 'event=login'], env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^smsq test-notification: the API answered 404 unknown_recipient: /);
  });

  describe('for a registered recipient', () => {
    beforeAll(async () => {
      const put = await stack.api.inject({
        method: 'PUT',
        url: '/v1/recipients/u_cli',
        headers: AUTH,
        payload: { phone: '+14155550188', preferences: { marketing: false } },
      });
      expect(put.statusCode).toBe(200);
    });

    it('test-2fa sends a code and exits 0 once it is delivered, never printing the code', async () => {
      const { code, stdout, stderr } = await cli(['test-2fa', 'u_cli'], env);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toMatch(/^OTP \S+ for u_cli goes to \+14155550188 as message \S+/m);
      expect(stdout.trim().split('\n').at(-1)).toBe('Delivered.');
      const sent: { to: string; body: string }[] = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json()
        .messages;
      const sms = sent.find((m) => m.to === '+14155550188' && m.body.startsWith('Your OTP is: '));
      const digits = /Your OTP is: (\d+)/.exec(sms!.body)![1]!;
      expect(stdout).not.toContain(digits);
    });

    it('test-notification sends the security alert template and exits 0 once delivered (--json)', async () => {
      const { code, stdout } = await cli(['test-notification', 'u_cli', '--data', 'event=a CLI test', '--json'], env);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({
        ok: true,
        message: { status: 'delivered', template: 'security_alert' },
      });
      const sent: { to: string; body: string }[] = (await stack.sim!.app.inject({ url: '/_sim/messages' })).json()
        .messages;
      expect(sent.some((m) => m.to === '+14155550188' && m.body.startsWith('Security alert: a CLI test on your'))).toBe(
        true,
      );
    });
  });
});
