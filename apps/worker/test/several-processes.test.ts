import type { ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SID, API_KEY, AUTH_TOKEN, FROM, eventually, startStack, type Stack } from '../../../test/stack.js';
import {
  receivedWithTag,
  spawnApi,
  spawnStackSim,
  spawnWorker,
  stopProcess,
  type ApiProcess,
  type Received,
  type SimProcess,
} from './processes.js';
import { achievedRate, peakInWindow } from './rate-windows.js';
import { allFinal } from './traffic.js';

/**
 * Issue 15, several processes: two API processes and two worker processes on one Redis (or the Redis
 * Cluster of `npm run test:cluster`), against the simulator in a process of its own. What one process
 * keeps in memory would hold in the single-process tests and break here: the caps, the sender's MPS and
 * the OTP's place in front of the queue all have to live in Redis.
 */
const MPS = 10;
const WORKERS = 2;
const LOAD = 200;
const BACKLOG = 100;
const RECIPIENT_CAP = 5;
const OTP_CAP = 4;
const RATE_LIMIT = 100;
const CAPS_KEY = 'caps-secret-key';
const BURST_KEY = 'burst-secret-key';

let sim: SimProcess;
let stack: Stack;
const apis: ApiProcess[] = [];
const workers: ChildProcess[] = [];
let childEnv: NodeJS.ProcessEnv;

/** Request i goes to API i mod 2, so every burst arrives at both at once. */
const apiFor = (i: number) => apis[i % apis.length]!;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const number = (n: number) => `+1415555${String(n).padStart(4, '0')}`;

/** A port that was free a moment ago: the API the callbacks go to must know its own URL before it listens. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The simulator stamps a create when its handler runs, and a fresh simulator process ran its first ones
 * up to ~30 ms late (code not yet optimised), which Twilio's own stamps would not show: warmed here, the
 * stamps measure the workers' pacing rather than the simulator's start.
 */
async function warmUpSim(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${sim.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ To: number(9999), From: FROM, Body: `warm-up #${i}` }).toString(),
    });
    expect(res.status).toBe(201);
  }
}

beforeAll(async () => {
  sim = await spawnStackSim();
  stack = await startStack({
    withWorkers: false,
    withSim: false,
    env: {
      SENDER_MPS: String(MPS),
      TWILIO_API_BASE_URL: sim.url,
      RECIPIENT_MAX_PER_HOUR: String(RECIPIENT_CAP),
      OTP_MAX_SENDS: String(OTP_CAP),
      API_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      // A key per part, so the requests of one part never count against another's per-key limit.
      API_KEYS: `tests:${API_KEY},caps:${CAPS_KEY},burst:${BURST_KEY}`,
      // OTP texts are sealed by the API that takes them and opened by whichever worker sends them.
      OTP_SECRET: 'several-processes-test-otp-secret',
    },
  });
  await warmUpSim();
  const port = await freePort();
  const callbacks = `http://127.0.0.1:${port}`;
  childEnv = { ...stack.env, PUBLIC_BASE_URL: callbacks, WORKER_CONCURRENCY: '10' };
  // Both APIs check callback signatures against PUBLIC_BASE_URL; the simulator calls the first one.
  await Promise.all(
    [{ ...childEnv, PORT: String(port) }, childEnv].map(async (env, i) => {
      apis[i] = await spawnApi(env);
    }),
  );
  expect(apis[0]!.url).toBe(callbacks);
}, 60_000);

afterAll(async () => {
  await Promise.all([...workers.map((w) => stopProcess(w)), ...apis.map((a) => a.stop())]);
  await sim?.stop();
  await stack?.close();
}, 60_000);

/**
 * Spawned when first needed rather than in beforeAll: their first sends are the load's, made cold, which
 * is when a process is slowest between a granted slot and its request.
 */
async function startWorkers(): Promise<void> {
  if (workers.length > 0) return;
  // Each one kept as soon as it is up, so afterAll stops it even if another fails to start.
  await Promise.all(range(WORKERS).map(async () => workers.push(await spawnWorker(childEnv))));
}

interface Reply {
  status: number;
  retryAfter: string | null;
  /** x-ratelimit-remaining: what is left of the API key's allowance for the minute. */
  remaining: string | null;
  body: {
    id?: string;
    /** POST /v1/otp: the message that carries the code (`id` is the OTP's). */
    messageId?: string;
    createdAt?: string;
    error?: { code: string; message: string; field?: string };
    results?: { index: number; id?: string; error?: { code: string; message: string } }[];
  };
}

async function post(api: ApiProcess, path: string, payload: object, key = API_KEY): Promise<Reply> {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    remaining: res.headers.get('x-ratelimit-remaining'),
    body: (await res.json()) as Reply['body'],
  };
}

/** `n` messages `<tag> #<i>` in batches of 50, the batches spread over both APIs and posted at once. */
async function postLoad(tag: string, n: number, firstNumber: number, extra: object = {}): Promise<string[]> {
  const batches = await Promise.all(
    range(Math.ceil(n / 50)).map((b) =>
      post(apiFor(b), '/v1/messages/batch', {
        messages: range(Math.min(50, n - b * 50)).map((j) => ({
          to: number(firstNumber + b * 50 + j),
          body: `${tag} #${b * 50 + j}`,
          ...extra,
        })),
      }),
    ),
  );
  const ids: string[] = [];
  for (const reply of batches) {
    expect(reply.status).toBe(200);
    for (const r of reply.body.results!) {
      if (!r.id) throw new Error(`batch item ${r.index} refused: ${JSON.stringify(r.error)}`);
      ids.push(r.id);
    }
  }
  return ids;
}

async function allReceived(): Promise<Received[]> {
  return (await sim.control<{ messages: Received[] }>('/_sim/messages')).messages;
}

const accepted = (replies: Reply[]) => replies.filter((r) => r.status === 202);
const refused = (replies: Reply[]) => replies.filter((r) => r.status !== 202);

describe(`two API processes, ${WORKERS} worker processes, one Redis`, () => {
  it('caps are exact under concurrent admission through both APIs', async () => {
    const capped = number(100);
    const otpTo = number(101);
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    // All three at once: each cap is one Redis script, whichever API process runs it.
    const [plain, codes, burst] = await Promise.all([
      Promise.all(
        range(40).map((i) =>
          post(apiFor(i), '/v1/messages', { to: capped, body: `cap #${i}`, category: 'security' }, CAPS_KEY),
        ),
      ),
      // POST /v1/otp and an `otp` message pass the same gate: both kinds race for its slots.
      Promise.all(
        range(30).map((i) =>
          i % 3 === 0
            ? post(apiFor(i), '/v1/otp', { to: otpTo, purpose: 'login' }, CAPS_KEY)
            : post(apiFor(i), '/v1/messages', { to: otpTo, body: `Your code is 40000${i}`, category: 'otp' }, CAPS_KEY),
        ),
      ),
      // Scheduled an hour ahead: recorded, so they can be counted, but not sent during this file.
      Promise.all(
        range(RATE_LIMIT + 50).map((i) =>
          post(apiFor(i), '/v1/messages', { to: number(1000 + i), body: `burst #${i}`, sendAt: inAnHour }, BURST_KEY),
        ),
      ),
    ]);

    expect(accepted(plain)).toHaveLength(RECIPIENT_CAP);
    for (const r of refused(plain)) {
      expect(r.status).toBe(429);
      expect(r.body.error).toMatchObject({ code: 'rate_limited', field: 'to' });
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
    expect(accepted(codes)).toHaveLength(OTP_CAP);
    for (const r of refused(codes)) {
      expect(r.status).toBe(429);
      expect(r.body.error).toMatchObject({ code: 'rate_limited', field: 'to' });
    }
    // The per-key limit fails open (api-rate-limit.ts): a request whose count Redis has not answered
    // within 250 ms goes through uncounted, and says so with the whole allowance left. Such a pass may be
    // one over the limit; whenever Redis answers in time, exactly the limit passes.
    const uncounted = accepted(burst).filter((r) => r.remaining === String(RATE_LIMIT)).length;
    if (uncounted > 0)
      console.log(`${uncounted} request(s) of the burst went through uncounted (Redis slower than 250 ms)`);
    expect(accepted(burst).length).toBeGreaterThanOrEqual(RATE_LIMIT);
    expect(accepted(burst).length).toBeLessThanOrEqual(RATE_LIMIT + uncounted);
    for (const r of refused(burst)) {
      expect(r.status).toBe(429);
      expect(r.body.error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/per minute/) });
      expect(r.body.error!.field).toBeUndefined();
    }

    const rowIds = async (where: object) =>
      (await stack.prisma.message.findMany({ where, select: { id: true } })).map((m) => m.id).sort();
    expect(await rowIds({ to: capped })).toEqual(
      accepted(plain)
        .map((r) => r.body.id)
        .sort(),
    );
    expect(await rowIds({ to: otpTo })).toEqual(
      accepted(codes)
        .map((r) => r.body.messageId ?? r.body.id)
        .sort(),
    );
    expect(await rowIds({ body: { startsWith: 'burst #' } })).toEqual(
      accepted(burst)
        .map((r) => r.body.id)
        .sort(),
    );
  }, 60_000);

  it(`holds SENDER_MPS=${MPS} over all workers from a cold start, and sends each message once`, async () => {
    await startWorkers();
    const ids = await postLoad('load', LOAD, 3000);
    await allFinal(stack.prisma, ids, 120_000);
    const rows = await stack.prisma.message.findMany({ where: { id: { in: ids } } });
    expect(rows.filter((r) => r.status === 'delivered')).toHaveLength(LOAD);

    const received = await receivedWithTag(sim, 'load');
    expect(received).toHaveLength(LOAD);
    expect(new Set(received.map((r) => r.body)).size).toBe(LOAD);
    expect(new Set(received.map((r) => r.sid))).toEqual(new Set(rows.map((r) => r.twilioSid)));

    // Every message of this file that is due, the capped ones queued before the workers included: each
    // ends final, and each was created at Twilio once (an OTP overtaken by a newer one is canceled unsent).
    const due = await stack.prisma.message.findMany({ where: { sendAt: null }, select: { id: true } });
    await allFinal(
      stack.prisma,
      due.map((m) => m.id),
      60_000,
    );
    const dueRows = await stack.prisma.message.findMany({ where: { sendAt: null } });
    const unexpected = dueRows.filter(
      (r) => r.status !== 'delivered' && !(r.status === 'canceled' && r.category === 'otp'),
    );
    expect(unexpected.map((r) => `${r.category} ${r.id}: ${r.status}`)).toEqual([]);
    const creates = (await allReceived()).filter((r) => !r.body?.startsWith('warm-up #'));
    expect(creates.map((r) => r.sid).sort()).toEqual(
      dueRows
        .filter((r) => r.status === 'delivered')
        .map((r) => r.twilioSid)
        .sort(),
    );

    // The limit is the sender's, whatever the messages were: all of them count.
    const times = creates.map((r) => Date.parse(r.receivedAt));
    const peak = peakInWindow(times);
    console.log(
      `${WORKERS} workers, 2 APIs at SENDER_MPS=${MPS}: ${times.length} sends, peak ${peak} in a second, ` +
        `${achievedRate(times).toFixed(1)}/s`,
    );
    expect(peak).toBeLessThanOrEqual(MPS + 1);
    expect(workers.every((c) => c.exitCode === null)).toBe(true);
  }, 150_000);

  it('sends OTPs posted through either API ahead of a bulk backlog held back by the limit', async () => {
    await startWorkers();
    const bulkIds = await postLoad('bulk', BACKLOG, 5000, { category: 'marketing' });
    // The limit is saturated and the rest of the backlog waits its turn.
    await eventually(async () => ((await receivedWithTag(sim, 'bulk')).length >= MPS ? true : undefined), 30_000);

    const otps = await Promise.all(
      apis.map((api, i) =>
        post(api, '/v1/messages', { to: number(7000 + i), body: `otp #${i} Your OTP is: 48291${i}`, category: 'otp' }),
      ),
    );
    expect(otps.map((r) => r.status)).toEqual([202, 202]);
    const sent = await eventually(async () => {
      const found = await receivedWithTag(sim, 'otp');
      return found.length === otps.length ? found : undefined;
    }, 30_000);
    const bulk = await receivedWithTag(sim, 'bulk');
    for (const [i, reply] of otps.entries()) {
      const otpAt = Date.parse(sent.find((s) => s.body!.startsWith(`otp #${i} `))!.receivedAt);
      const waiting = BACKLOG - bulk.filter((b) => Date.parse(b.receivedAt) < otpAt).length;
      console.log(
        `OTP through API ${i + 1} behind ${BACKLOG} marketing at ${MPS} MPS: at Twilio ` +
          `${otpAt - Date.parse(reply.body.createdAt!)} ms after acceptance, ${waiting} still waiting`,
      );
      expect(otpAt - Date.parse(reply.body.createdAt!)).toBeLessThan(2000);
      expect(waiting).toBeGreaterThanOrEqual(BACKLOG / 2);
    }

    const ids = [...bulkIds, ...otps.map((r) => r.body.id!)];
    await allFinal(stack.prisma, ids, 120_000);
    expect(await stack.prisma.message.count({ where: { id: { in: ids }, status: 'delivered' } })).toBe(ids.length);
    // Jumping the queue takes a slot, not one more than the limit.
    const times = [...(await receivedWithTag(sim, 'bulk')), ...(await receivedWithTag(sim, 'otp'))].map((r) =>
      Date.parse(r.receivedAt),
    );
    expect(times).toHaveLength(ids.length);
    console.log(`backlog and OTPs: peak ${peakInWindow(times)} in a second`);
    expect(peakInWindow(times)).toBeLessThanOrEqual(MPS + 1);
  }, 150_000);
});
