// One worker process of the drain floor (bench/drain-floor.ts starts it): a plain BullMQ Worker on the
// send queue, WORKER_CONCURRENCY jobs at once, and per job one twilio SDK `messages.create` (through the
// HTTP client smsq's worker uses, pointed at the simulator like smsq's) and one UPDATE with Twilio's
// answer. The job carries only the message id, as smsq's do; the floor does not read the row back (the
// definition has no read): it sends a fixed recipient a body made from the id.
import { createRequire } from 'node:module';
import pg from 'pg';
import {
  SEND_QUEUE,
  createRedis,
  createTwilioClient,
  warmUpTwilioClient,
  type RedisClient,
  type SendJob,
} from '@smsq/shared';

/** What the floor uses of BullMQ's Worker. */
interface FloorJob {
  id?: string;
  data: SendJob;
}
interface BullWorker {
  on(event: 'failed', listener: (job: FloorJob | undefined, err: Error) => void): void;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}
type WorkerClass = new (
  name: string,
  processor: (job: FloorJob) => Promise<void>,
  opts: { connection: RedisClient; prefix: string; concurrency: number },
) => BullWorker;
// BullMQ is a dependency of @smsq/shared, not of the root package that holds the bench: it is loaded from
// there, the very copy smsq's worker runs (its package has no ESM entry for node: `import` loads this too).
const { Worker } = createRequire(import.meta.resolve('@smsq/shared'))('bullmq') as { Worker: WorkerClass };

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
};
const concurrency = Number(env('WORKER_CONCURRENCY'));
const callbackUrl = env('FLOOR_CALLBACK_URL');
const from = env('TWILIO_PHONE_NUMBER');
const clusterNodes = process.env.REDIS_CLUSTER_NODES?.split(',').filter(Boolean);

// smsq's worker pool: its concurrency + 5, at most 20.
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: Math.min(20, concurrency + 5) });
const twilio = createTwilioClient({
  accountSid: env('TWILIO_ACCOUNT_SID'),
  authToken: env('TWILIO_AUTH_TOKEN'),
  phoneNumber: from,
  messagingServiceSid: undefined,
  apiBaseUrl: env('TWILIO_API_BASE_URL'),
  timeoutMs: 15_000,
});
await warmUpTwilioClient(twilio);
const redis = createRedis(env('REDIS_URL'), 'worker', clusterNodes);

/** Twilio's answer; a callback that came first (a higher rank) keeps its status. */
const SUBMITTED = `UPDATE floor_messages
  SET twilio_sid = $2, status = CASE WHEN rank < 1 THEN 'submitted' ELSE status END, rank = GREATEST(rank, 1)
  WHERE id = $1`;

const worker = new Worker(
  SEND_QUEUE,
  async (job) => {
    const id = job.data.messageId;
    const sent = await twilio.messages.create({
      to: '+14155550100',
      from,
      body: `floor ${id}`,
      statusCallback: `${callbackUrl}?mid=${id}`,
    });
    await pool.query(SUBMITTED, [id, sent.sid]);
  },
  { connection: redis, prefix: env('QUEUE_PREFIX'), concurrency },
);
worker.on('failed', (job, err) => console.error(`job ${job?.id} failed: ${err.message}`));
await worker.waitUntilReady();
console.log('ready');

process.once('SIGTERM', () => {
  void (async () => {
    await worker.close();
    redis.disconnect();
    await pool.end();
    process.exit(0);
  })();
});
