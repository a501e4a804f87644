import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND_QUEUE, createRedis } from '@smsq/shared';
import { buildApp } from '../src/app.js';
import { eventually, startStack, type Stack } from '../../../test/stack.js';

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const RIGHT = basic('ops', 'board-secret');
const SEND = '/admin/queues/api/queues/%7Bsend%7D';

let stack: Stack;
/** The same API with DASHBOARD_READ_ONLY=false. */
let writable: FastifyInstance;
beforeAll(async () => {
  stack = await startStack({
    withWorkers: false,
    env: { DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'board-secret' },
  });
  writable = await buildApp({ ...stack.apiDeps, config: { ...stack.config, dashboardReadOnly: false } });
});
afterAll(async () => {
  await writable.close();
  await stack.close();
});

/** A send job that failed its only attempt, as a broken send would leave it. */
async function failedSendJob(): Promise<string> {
  const connection = createRedis(stack.config.redisUrl, 'worker');
  const worker = new Worker(
    SEND_QUEUE,
    async () => {
      throw new Error('broken on purpose');
    },
    { connection, prefix: stack.config.queuePrefix },
  );
  try {
    const job = await stack.apiDeps.queues.send.add('send', { messageId: randomUUID() }, { attempts: 1 });
    await eventually(async () => ((await job.isFailed()) ? true : undefined));
    return job.id!;
  } finally {
    await worker.close();
    connection.disconnect();
  }
}

describe('Bull Board at /admin/queues', () => {
  const paths = ['/admin/queues', '/admin/queues/static/images/logo.svg', '/admin/queues/api/queues'];

  it.each(paths)('refuses %s without credentials or with wrong ones', async (url) => {
    for (const headers of [{}, basic('ops', 'wrong'), basic('someone', 'board-secret'), { authorization: 'Basic !' }]) {
      const res = await stack.api.inject({ url, headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm="smsq queues"/);
      expect(res.json().error.code).toBe('unauthorized');
    }
  });

  it.each(paths)('serves %s with the right credentials', async (url) => {
    const res = await stack.api.inject({ url, headers: RIGHT });
    expect(res.statusCode).toBe(200);
  });

  it('lists the send, status and webhooks queues through its API', async () => {
    const res = await stack.api.inject({ url: '/admin/queues/api/queues', headers: RIGHT });
    const names = res.json().queues.map((q: { name: string }) => q.name);
    expect(names.sort()).toEqual(['{send}', '{status}', '{webhooks}']);
  });

  it('answers 401 to everyone when no credentials are configured', async () => {
    const app = await buildApp({ ...stack.apiDeps, config: { ...stack.config, dashboard: undefined } });
    try {
      for (const headers of [{}, RIGHT, basic('', '')]) {
        expect((await app.inject({ url: '/admin/queues/api/queues', headers })).statusCode).toBe(401);
      }
    } finally {
      await app.close();
    }
  });
});

describe('DASHBOARD_READ_ONLY', () => {
  it('is on by default: the board shows read-only queues and refuses retry, clean, pause and empty', async () => {
    expect(stack.config.dashboardReadOnly).toBe(true);
    const queues = (await stack.api.inject({ url: '/admin/queues/api/queues', headers: RIGHT })).json().queues;
    expect(queues.map((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toEqual([true, true, true]);

    const jobId = await failedSendJob();
    for (const url of [`${SEND}/retry/failed`, `${SEND}/${jobId}/retry`, `${SEND}/clean/failed`]) {
      expect((await stack.api.inject({ method: 'PUT', url, headers: RIGHT })).statusCode).toBe(405);
    }
    for (const url of [`${SEND}/pause`, `${SEND}/empty`]) {
      expect((await stack.api.inject({ method: 'PUT', url, headers: RIGHT })).statusCode).toBe(405);
    }
    expect(await stack.apiDeps.queues.send.getJobState(jobId)).toBe('failed');
    expect(await stack.apiDeps.queues.send.isPaused()).toBe(false);
  });

  it('=false lets an operator retry a failed job and pause and resume a queue', async () => {
    const queues = (await writable.inject({ url: '/admin/queues/api/queues', headers: RIGHT })).json().queues;
    expect(queues.map((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toEqual([false, false, false]);

    const jobId = await failedSendJob();
    const retried = await writable.inject({ method: 'PUT', url: `${SEND}/${jobId}/retry`, headers: RIGHT });
    expect(retried.statusCode).toBe(204);
    expect(await stack.apiDeps.queues.send.getJobState(jobId)).toMatch(/^(waiting|prioritized)$/);

    expect((await writable.inject({ method: 'PUT', url: `${SEND}/pause`, headers: RIGHT })).statusCode).toBe(200);
    expect(await stack.apiDeps.queues.send.isPaused()).toBe(true);
    expect((await writable.inject({ method: 'PUT', url: `${SEND}/resume`, headers: RIGHT })).statusCode).toBe(200);
    expect(await stack.apiDeps.queues.send.isPaused()).toBe(false);
  });

  it('keeps the credentials when writable', async () => {
    expect((await writable.inject({ method: 'PUT', url: `${SEND}/pause` })).statusCode).toBe(401);
    expect(await stack.apiDeps.queues.send.isPaused()).toBe(false);
  });
});
