// Throughput control, measured: MPS_BENCH_MESSAGES alerts (default 300) at SENDER_MPS = MPS_BENCH_MPS
// (default 20) through three worker processes and the Twilio simulator (its own process), then one OTP
// requested while the alerts are still flowing. Prints, from the simulator's receive times:
//   - the most messages in any 1-second window (the limit holds if it is at most MPS + 1),
//   - the achieved rate, first to last alert (at least 90 % of the limit),
//   - how long after acceptance the OTP reached Twilio, and how many alerts it overtook.
// Exit code 1 when the peak or the rate misses. Needs Redis and Postgres (REDIS_URL, DATABASE_URL): a
// scratch database is created beside DATABASE_URL's and dropped at the end.
//   npm run bench:mps
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createLogger, loadConfig } from '@smsq/shared';
import { buildApp, createApiDeps } from '@smsq/api';
import { receivedWithTag, spawnSim, spawnWorker } from '../apps/worker/test/processes.js';
import { achievedRate, peakInWindow } from '../apps/worker/test/rate-windows.js';
import { allFinal, postMessages } from '../apps/worker/test/traffic.js';
import { createFreshDatabase } from '../apps/load/src/fresh-database.js';
import { ACCOUNT_SID, API_KEY, AUTH, AUTH_TOKEN, FROM, eventually } from '../test/stack.js';

const MESSAGES = Number(process.env.MPS_BENCH_MESSAGES ?? 300);
const MPS = Number(process.env.MPS_BENCH_MPS ?? 20);
const WORKERS = 3;
const WARM_UP = 30;
const base = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/smsq';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// A scratch database beside DATABASE_URL's, dropped at the end whatever happens.
const scratch = await createFreshDatabase(base, 'smsq_bench_mps');
const databaseUrl = scratch.url;

async function main(): Promise<boolean> {
  const twilioEnv = { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_PHONE_NUMBER: FROM };
  const sim = await spawnSim({ ...process.env, ...twilioEnv });
  const env = {
    ...process.env,
    ...twilioEnv,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `bench${randomBytes(4).toString('hex')}`,
    API_KEYS: `bench:${API_KEY}`,
    TWILIO_API_BASE_URL: sim.url,
    SENDER_MPS: String(MPS),
    WORKER_CONCURRENCY: '10',
    WORKER_METRICS_PORT: '0',
    RECIPIENT_MAX_PER_HOUR: '1000000',
  };
  const config = loadConfig(env);
  const apiDeps = createApiDeps(config);
  const api = await buildApp(apiDeps, { logger: createLogger(config, 'api') });
  config.publicBaseUrl = await api.listen({ port: 0, host: '127.0.0.1' });
  const workers: ChildProcess[] = [];
  try {
    console.log(`${MESSAGES} alerts at SENDER_MPS=${MPS} through ${WORKERS} worker processes…`);
    workers.push(
      ...(await Promise.all(
        Array.from({ length: WORKERS }, () => spawnWorker({ ...env, PUBLIC_BASE_URL: config.publicBaseUrl })),
      )),
    );
    // Running workers, as in service: a few messages first (not counted) so that each process has sent
    // before and its code is compiled and warm.
    await allFinal(apiDeps.prisma, await postMessages(api, WARM_UP, 'warm-up', { firstNumber: 9000 }), 60_000);
    // The flood is queued on a paused queue and let loose at once, so the API's work of taking it does not
    // share the CPU with the sending.
    await apiDeps.queues.send.pause();
    const ids = await postMessages(api, MESSAGES, 'alert', { extra: { category: 'transaction' } });
    await apiDeps.queues.send.resume();
    // The OTP comes once the alerts are flowing and most of them are still waiting for their turn.
    await eventually(async () => ((await receivedWithTag(sim, 'alert')).length >= MPS * 2 ? true : undefined), 60_000);
    const otp = await api.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: AUTH,
      payload: { to: '+14155559999', body: 'otp #0 Your OTP is: 482913', category: 'otp' },
    });
    if (otp.statusCode !== 202) throw new Error(`OTP refused: ${otp.body}`);
    await allFinal(apiDeps.prisma, [...ids, otp.json().id], (MESSAGES / MPS) * 3000 + 60_000);

    const alerts = (await receivedWithTag(sim, 'alert')).map((r) => Date.parse(r.receivedAt));
    const [otpAt] = (await receivedWithTag(sim, 'otp')).map((r) => Date.parse(r.receivedAt));
    const all = [...alerts, otpAt!];
    const peak = peakInWindow(all);
    const rate = achievedRate(alerts);
    const overtaken = alerts.filter((t) => t > otpAt!).length;
    const delivered = await apiDeps.prisma.message.count({ where: { status: 'delivered' } });
    console.log(`sends received by the simulator: ${all.length} (${delivered} delivered)`);
    console.log(`peak in any 1-second window:     ${peak} (limit ${MPS}, allowed ${MPS + 1})`);
    console.log(
      `achieved rate, first to last:    ${rate.toFixed(2)}/s = ${((rate / MPS) * 100).toFixed(1)} % of the limit`,
    );
    console.log(
      `OTP behind the flood:            at Twilio ${otpAt! - Date.parse(otp.json().createdAt)} ms after acceptance, ` +
        `ahead of ${overtaken} alerts that were queued before it`,
    );
    return peak <= MPS + 1 && rate >= MPS * 0.9;
  } finally {
    await Promise.all(
      workers.map((w) => {
        w.kill('SIGTERM');
        return w.exitCode === null ? once(w, 'exit') : undefined;
      }),
    );
    await sim.stop();
    await api.close();
    await apiDeps.close();
  }
}

let ok = false;
try {
  ok = await main();
} finally {
  await scratch.drop();
}
process.exit(ok ? 0 : 1);
