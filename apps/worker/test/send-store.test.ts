import { setOptOut } from '@smsq/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendStore } from '../src/send/store.js';
import { AUTH, startStack, type Stack } from '../../../test/stack.js';

/**
 * The send path's statements, shared by the sends in flight: what each send gets back must be what it
 * would have got alone, above all when two runs of one job (BullMQ is at least once) land in one batch.
 */
let stack: Stack;
let store: SendStore;
let number = 0;

beforeAll(async () => {
  stack = await startStack({ withWorkers: false });
  store = new SendStore(stack.prisma);
});
afterAll(async () => stack.close());

async function queued(): Promise<{ id: string; to: string }> {
  const to = `+1415555${String(8000 + number++).padStart(4, '0')}`;
  const res = await stack.api.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: AUTH,
    payload: { to, body: 'x' },
  });
  expect(res.statusCode).toBe(202);
  return { id: res.json().id, to };
}

const events = async (id: string) =>
  (await stack.prisma.messageEvent.findMany({ where: { messageId: id }, orderBy: { id: 'asc' } })).map((e) => e.status);

describe('SendStore', () => {
  it('loads the messages asked for together, each with its own opt-out', async () => {
    const [a, b] = [await queued(), await queued()];
    await setOptOut(stack.prisma, b.to, true, 'STOP', 'inbound');
    const [ma, mb, none] = await Promise.all([
      store.load(a.id),
      store.load(b.id),
      store.load('00000000-0000-7000-8000-000000000000'),
    ]);
    expect(ma).toMatchObject({ id: a.id, status: 'queued', to: a.to, attempts: 0, optedOut: false });
    expect(mb).toMatchObject({ id: b.id, optedOut: true });
    expect(none).toBeUndefined();
  });

  it('two claims of one attempt in one batch: exactly one wins; other messages win their own', async () => {
    const [a, b] = [await queued(), await queued()];
    const won = await Promise.all([store.claim(a.id, 0), store.claim(a.id, 0), store.claim(b.id, 0)]);
    expect(won[2]).toBe(1);
    expect([won[0], won[1]].sort()).toEqual([1, undefined]);
    expect(await stack.prisma.message.findUniqueOrThrow({ where: { id: a.id } })).toMatchObject({
      status: 'sending',
      attempts: 1,
    });
    expect(await events(a.id)).toEqual(['queued', 'sending']);
    // A claim on a stale count loses, one on the current count wins the next attempt.
    expect(await Promise.all([store.claim(a.id, 0), store.claim(a.id, 1)])).toEqual([undefined, 2]);
  });

  it('records submissions together: the SID always, the move to submitted only from before it', async () => {
    const [a, b] = [await queued(), await queued()];
    await Promise.all([store.claim(a.id, 0), store.claim(b.id, 0)]);
    // b's `sent` callback came before the send's answer was recorded.
    await stack.prisma.message.update({ where: { id: b.id }, data: { status: 'sent' } });
    const sidA = `SM${'a'.repeat(32)}`;
    const sidB = `SM${'b'.repeat(32)}`;
    await Promise.all([
      store.recordSubmission({ messageId: a.id, twilioSid: sidA, from: '+15005550006', segments: 1 }),
      store.recordSubmission({ messageId: b.id, twilioSid: sidB, from: null, segments: undefined }),
    ]);
    expect(await stack.prisma.message.findUniqueOrThrow({ where: { id: a.id } })).toMatchObject({
      status: 'submitted',
      twilioSid: sidA,
      from: '+15005550006',
    });
    expect(await stack.prisma.message.findUniqueOrThrow({ where: { id: b.id } })).toMatchObject({
      status: 'sent',
      twilioSid: sidB,
    });
    expect(await events(a.id)).toEqual(['queued', 'sending', 'submitted']);
    expect(await events(b.id)).toEqual(['queued', 'sending']);
  });
});
