import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';
import { receivedWithTag } from './processes.js';
import { postMessages } from './traffic.js';

/**
 * Priority under a rate limit: OTP, then security, then transaction/account, then marketing. The limiter
 * never books slots far ahead, so a code requested behind a flood of alerts takes the next free slot.
 */
const MPS = 100;
const FLOOD = 1000;

let stack: Stack;
const sim = {
  control: async <T>(path: string) => (await stack.sim!.app.inject({ url: path })).json() as T,
};
beforeAll(async () => {
  stack = await startStack({ env: { SENDER_MPS: String(MPS) } });
});
afterAll(async () => stack.close());

describe(`an OTP behind ${FLOOD} queued alerts at ${MPS} MPS`, () => {
  it('reaches Twilio within 2 s of being accepted, ahead of most of the alerts', async () => {
    // Queue the whole flood first, then let the worker at it.
    await stack.workers!.send.pause();
    await postMessages(stack.api, FLOOD, 'alert', { extra: { category: 'security' } });
    stack.workers!.send.resume();
    // The flood is under way: the limit is saturated and the rest of the alerts wait their turn.
    await eventually(async () => ((await receivedWithTag(sim, 'alert')).length >= 100 ? true : undefined), 30_000);

    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155559999', body: 'otp #0 Your OTP is: 482913', category: 'otp' },
    });
    expect(res.statusCode).toBe(202);
    const acceptedAt = Date.parse(res.json().createdAt);
    const [otp] = await eventually(async () => {
      const found = await receivedWithTag(sim, 'otp');
      return found.length > 0 ? found : undefined;
    }, 30_000);
    const otpAt = Date.parse(otp!.receivedAt);
    const alertsBefore = (await receivedWithTag(sim, 'alert')).filter((a) => Date.parse(a.receivedAt) < otpAt).length;
    console.log(
      `OTP behind ${FLOOD} alerts at ${MPS} MPS: at Twilio ${otpAt - acceptedAt} ms after acceptance, ` +
        `after ${alertsBefore} alerts (${FLOOD - alertsBefore} still waiting)`,
    );
    expect(FLOOD - alertsBefore).toBeGreaterThanOrEqual(800);
    expect(otpAt - acceptedAt).toBeLessThan(2000);
  }, 90_000);
});
