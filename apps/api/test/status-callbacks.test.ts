import { randomUUID } from 'node:crypto';
import { createLogger } from '@smsq/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createApiDeps, type ApiDeps } from '@smsq/api';
import { StatusCallbacks } from '../src/twilio-webhooks/status-callbacks.js';
import { AUTH, eventually, signedWebhook, startStack, type Stack } from '../../../test/stack.js';
import { startTcpProxy, viaProxy, type TcpProxy } from '../../../test/tcp-proxy.js';

/**
 * The API applies status callbacks in Postgres itself, those that arrive together in one statement, and
 * queues them for the worker only when it cannot (Postgres down) or for a 30001 (the worker slows the
 * sender down). Every rule the worker kept holds here too: forward only, one event per move, and a
 * callback from another Twilio message never steers ours.
 */
let stack: Stack;
const logged: string[] = [];
const logger = {
  warn: (_obj: unknown, msg?: string) => void logged.push(`warn ${msg}`),
  error: (_obj: unknown, msg?: string) => void logged.push(`error ${msg}`),
};
let callbacks: StatusCallbacks;
let number = 0;

beforeAll(async () => {
  stack = await startStack();
  // Messages stay where a test puts them: nothing is sent, so no simulator callback interferes.
  await stack.workers!.send.pause();
  callbacks = new StatusCallbacks({ prisma: stack.prisma, queues: stack.apiDeps.queues, logger });
});
afterAll(async () => stack.close());

const sid = () => `SM${randomUUID().replaceAll('-', '')}`;

/** A message Twilio has accepted under `twilioSid` (or one still sending, without a SID). */
async function atTwilio(twilioSid: string | null): Promise<string> {
  const res = await stack.api.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: AUTH,
    payload: { to: `+1415555${String(7000 + number++).padStart(4, '0')}`, body: 'callbacks' },
  });
  expect(res.statusCode).toBe(202);
  const id = res.json().id as string;
  await stack.prisma.message.update({
    where: { id },
    data: twilioSid ? { status: 'submitted', twilioSid } : { status: 'sending' },
  });
  return id;
}

async function state(id: string) {
  const m = await stack.prisma.message.findUniqueOrThrow({ where: { id }, select: { status: true, twilioSid: true } });
  const events = await stack.prisma.messageEvent.findMany({
    where: { messageId: id, source: 'webhook' },
    orderBy: { id: 'asc' },
    select: { status: true, errorCode: true },
  });
  return { ...m, webhookEvents: events.map((e) => e.status) };
}

const callback = (messageId: string | undefined, twilioSid: string, twilioStatus: string, errorCode?: number) => ({
  messageId,
  twilioSid,
  twilioStatus,
  errorCode,
});

describe('status callbacks applied by the API', () => {
  it('applies callbacks that arrive together in one batch; two for one message both move, in order', async () => {
    const [a, b] = [sid(), sid()];
    const [ma, mb] = [await atTwilio(a), await atTwilio(b)];
    // Taken in the same turn of the event loop: one flush carries all four.
    const outcomes = await Promise.all([
      callbacks.take(callback(ma, a, 'sent')),
      callbacks.take(callback(mb, b, 'sent')),
      callbacks.take(callback(ma, a, 'delivered')),
      callbacks.take(callback(mb, b, 'undelivered', 30003)),
    ]);
    expect(outcomes).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(await state(ma)).toMatchObject({ status: 'delivered', webhookEvents: ['sent', 'delivered'] });
    expect(await state(mb)).toMatchObject({ status: 'undelivered', webhookEvents: ['sent', 'undelivered'] });
    const undelivered = await stack.prisma.message.findUniqueOrThrow({ where: { id: mb } });
    expect(undelivered.errorCode).toBe(30003);
    // Nothing went through the worker's queue (its jobs are named after the SID and status).
    expect(await stack.apiDeps.queues.status.getJob(`${a}-sent`)).toBeUndefined();
  });

  it('a late callback in the same batch moves nothing and adds no event', async () => {
    const a = sid();
    const m = await atTwilio(a);
    const outcomes = await Promise.all([
      callbacks.take(callback(m, a, 'delivered')),
      callbacks.take(callback(m, a, 'sent')),
      callbacks.take(callback(m, a, 'delivered')),
    ]);
    expect(outcomes).toEqual(['applied', 'unchanged', 'unchanged']);
    expect(await state(m)).toMatchObject({ status: 'delivered', webhookEvents: ['delivered'] });
  });

  it('a callback from another Twilio message does not steer ours, alone or beside the right one', async () => {
    const [ours, other] = [sid(), sid()];
    const m = await atTwilio(ours);
    logged.length = 0;
    expect(await callbacks.take(callback(m, other, 'delivered'))).toBe('unknown');
    expect(logged).toEqual(['error callback from another Twilio message']);
    const together = await Promise.all([
      callbacks.take(callback(m, other, 'failed', 30008)),
      callbacks.take(callback(m, ours, 'sent')),
    ]);
    expect(together).toEqual(['unknown', 'applied']);
    expect(await state(m)).toMatchObject({ status: 'sent', twilioSid: ours, webhookEvents: ['sent'] });

    // No SID recorded yet (the callback beat the send's answer): the first SID to arrive is the one kept.
    const [early, firstSid] = [await atTwilio(null), sid()];
    const first = await Promise.all([
      callbacks.take(callback(early, firstSid, 'sent')),
      callbacks.take(callback(early, other, 'delivered')),
    ]);
    expect(first).toEqual(['applied', 'unknown']);
    expect(await state(early)).toMatchObject({ status: 'sent', twilioSid: firstSid, webhookEvents: ['sent'] });
  });

  it('a callback for no message of ours changes nothing; one named by SID alone is applied', async () => {
    const a = sid();
    const m = await atTwilio(a);
    logged.length = 0;
    const outcomes = await Promise.all([
      callbacks.take(callback(randomUUID(), sid(), 'delivered')),
      callbacks.take(callback(undefined, sid(), 'delivered')),
      callbacks.take(callback(m, a, 'no-such-status')),
      callbacks.take(callback(undefined, a, 'sent')),
    ]);
    expect(outcomes).toEqual(['unknown', 'unknown', 'unknown', 'applied']);
    expect(logged.filter((l) => l === 'warn status callback for no known message')).toHaveLength(3);
    expect(await state(m)).toMatchObject({ status: 'sent', webhookEvents: ['sent'] });
  });

  it('a 30001 goes to the worker, which applies it (and slows the sender down)', async () => {
    const a = sid();
    const m = await atTwilio(a);
    expect(await callbacks.take(callback(m, a, 'failed', 30001))).toBe('queued');
    expect(await stack.apiDeps.queues.status.getJob(`${a}-failed`)).toBeDefined();
    await eventually(async () => ((await state(m)).status === 'failed' ? true : undefined));
    expect(await state(m)).toMatchObject({ webhookEvents: ['failed'] });
  });
});

describe('the webhook when a store is down', () => {
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let deps: ApiDeps;
  let api: Stack['api'];
  beforeAll(async () => {
    const pgUrl = new URL(stack.config.databaseUrl);
    const redisUrl = new URL(stack.config.redisUrl);
    pgProxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    redisProxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
    // A second API whose stores can be taken away; the stack's worker keeps its own.
    const config = {
      ...stack.config,
      databaseUrl: viaProxy(stack.config.databaseUrl, pgProxy),
      redisUrl: viaProxy(stack.config.redisUrl, redisProxy),
    };
    deps = createApiDeps(config);
    api = await buildApp(deps, { logger: createLogger(stack.config, 'api') });
  });
  afterAll(async () => {
    await api.close();
    await deps.close();
    await Promise.all([pgProxy.close(), redisProxy.close()]);
  });
  const post = (id: string, twilioSid: string, status: string) =>
    signedWebhook({ api, config: stack.config }, `/webhooks/twilio/status?mid=${id}`, {
      MessageSid: twilioSid,
      MessageStatus: status,
    });

  it('Postgres down: the callback is queued (204), and the worker applies it', async () => {
    const a = sid();
    const m = await atTwilio(a);
    pgProxy.cut();
    try {
      expect((await post(m, a, 'sent')).statusCode).toBe(204);
      expect((await post(m, a, 'delivered')).statusCode).toBe(204);
      await eventually(async () => ((await state(m)).status === 'delivered' ? true : undefined));
      expect(await state(m)).toMatchObject({ webhookEvents: ['sent', 'delivered'] });
    } finally {
      pgProxy.restore();
    }
  });

  it('Redis down: applied in Postgres, 204; both down: 503 and nothing changes, so Twilio tries again', async () => {
    const a = sid();
    const m = await atTwilio(a);
    redisProxy.cut();
    try {
      expect((await post(m, a, 'sent')).statusCode).toBe(204);
      expect(await state(m)).toMatchObject({ status: 'sent', webhookEvents: ['sent'] });
      pgProxy.cut();
      expect((await post(m, a, 'delivered')).statusCode).toBe(503);
      expect(await state(m)).toMatchObject({ status: 'sent', webhookEvents: ['sent'] });
    } finally {
      pgProxy.restore();
      redisProxy.restore();
    }
    expect((await post(m, a, 'delivered')).statusCode).toBe(204);
    expect(await state(m)).toMatchObject({ status: 'delivered', webhookEvents: ['sent', 'delivered'] });
  });
});
