import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, eventually, startStack, type Stack } from '../../../test/stack.js';
import { receivedWithTag } from './processes.js';

/**
 * What the worker makes of Twilio's answers: an opt-out refusal (21610) is recorded, a permanent
 * refusal ends the job with Twilio's code, an answer lost on the last try is looked up at Twilio before
 * the message is called failed, and an OTP's code leaves the message record once Twilio has it.
 */
let stack: Stack;
const failures: { jobId: string | undefined; name: string; code: unknown }[] = [];
const sim = {
  control: async <T>(path: string) => (await stack.sim!.app.inject({ url: path })).json() as T,
};
beforeAll(async () => {
  // One try only: the lookup after a lost answer must happen on the last try.
  stack = await startStack({ env: { SEND_MAX_ATTEMPTS: '1' } });
  stack.workers!.send.on('failed', (job: Job | undefined, err: Error) =>
    failures.push({ jobId: job?.id, name: err.name, code: (err as { code?: unknown }).code }),
  );
});
afterAll(async () => stack.close());

async function send(payload: object): Promise<string> {
  const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}
const finalRow = (id: string) =>
  eventually(async () => {
    const m = await stack.prisma.message.findUniqueOrThrow({ where: { id } });
    return ['delivered', 'undelivered', 'failed', 'expired'].includes(m.status) ? m : undefined;
  });

describe('Twilio outcomes in the worker', () => {
  it('21610 (recipient opted out at Twilio): records the opt-out and fails at once with the code', async () => {
    const to = '+15005550004'; // Twilio's magic number for 21610
    const id = await send({ to, body: 'optout #0 hello' });
    expect(await finalRow(id)).toMatchObject({ status: 'failed', errorCode: 21610, attempts: 1 });
    const optOut = await stack.prisma.optOut.findUniqueOrThrow({ where: { phone: to } });
    expect(optOut).toMatchObject({ optedOut: true, reason: '21610', source: 'twilio_error' });
    // The job ended unrecoverable, carrying Twilio's code for the metrics.
    await eventually(async () => (failures.some((f) => f.jobId === id) ? true : undefined));
    expect(failures.find((f) => f.jobId === id)).toMatchObject({ name: 'UnrecoverableError', code: 21610 });
    // The API now refuses the number before anything is queued.
    const again = await stack.api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to, body: 'x' },
    });
    expect(again.statusCode).toBe(422);
    expect(again.json().error.code).toBe('recipient_opted_out');
  });

  it('last try answered 500 although Twilio took the message: found at Twilio and adopted, not failed', async () => {
    await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: { createThenFailRate: 1 } });
    try {
      const id = await send({ to: '+14155550123', body: 'lost #0 Your OTP is: 551234', category: 'otp' });
      const m = await finalRow(id);
      const atTwilio = (await receivedWithTag(sim, 'lost')).filter((r) => r.sid);
      expect(atTwilio).toHaveLength(1);
      expect(m).toMatchObject({ status: 'delivered', attempts: 1, twilioSid: atTwilio[0]!.sid });
    } finally {
      await stack.sim!.app.inject({ method: 'POST', url: '/_sim/faults', payload: {} });
    }
  });

  it("an OTP's body (the code) is cleared once Twilio has it, or once it ends unsent; other bodies stay", async () => {
    const otp = await send({ to: '+14155550124', body: 'code #0 Your OTP is: 104729', category: 'otp' });
    const refused = await send({ to: '+15005550009', body: 'code #1 Your OTP is: 999331', category: 'otp' }); // 21614
    const alert = await send({ to: '+14155550125', body: 'alert #0 Card blocked', category: 'security' });
    expect(await finalRow(otp)).toMatchObject({ status: 'delivered', body: null });
    expect(await finalRow(refused)).toMatchObject({ status: 'failed', body: null });
    expect(await finalRow(alert)).toMatchObject({ status: 'delivered', body: 'alert #0 Card blocked' });
    // Twilio got the code itself.
    expect((await receivedWithTag(sim, 'code')).map((r) => r.body)).toContain('code #0 Your OTP is: 104729');
  });
});
