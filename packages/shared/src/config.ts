import { z } from 'zod';

const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number like +14155552671');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
/** docker-compose.yml's default OTP_SECRET: accepted only while messages go to the simulator. */
export const DEMO_OTP_SECRET = 'demo-only-otp-secret-for-the-simulator';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

/** `+18005551234:3,12345:100` → Map(sender → mps). */
const mpsOverrides = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const map = new Map<string, number>();
    for (const pair of (raw ?? '').split(',').filter(Boolean)) {
      const at = pair.lastIndexOf(':');
      const mps = Number(pair.slice(at + 1));
      if (at < 1 || !Number.isFinite(mps) || mps <= 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${pair}" is not sender:mps` });
        return z.NEVER;
      }
      map.set(pair.slice(0, at).trim(), mps);
    }
    return map;
  });

/** `name:secret,name2:secret2` → Map(secret → name). */
const apiKeys = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const map = new Map<string, string>();
    for (const pair of (raw ?? '').split(',').filter(Boolean)) {
      const at = pair.indexOf(':');
      if (at < 1 || at === pair.length - 1) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'each entry must be name:secret' });
        return z.NEVER;
      }
      // A name is a service's: `#` marks its test traffic (name#test) and may not be in a name.
      if (pair.slice(0, at).includes('#')) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a name may not contain "#"' });
        return z.NEVER;
      }
      map.set(pair.slice(at + 1), pair.slice(0, at));
    }
    return map;
  });

/**
 * Seconds between a webhook delivery's attempts, one number per retry (decimals allowed, for tests):
 * by default 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, about a day in all.
 */
const retrySchedule = z
  .string()
  .default('5,60,300,1800,7200,18000,36000,36000')
  .transform((raw, ctx) => {
    const seconds = raw.split(',').map((s) => Number(s.trim()));
    if (seconds.length === 0 || seconds.some((n) => !Number.isFinite(n) || n <= 0)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be positive seconds, comma-separated' });
      return z.NEVER;
    }
    return seconds.map((n) => Math.round(n * 1000));
  });

/** `host:port,host:port,…` → the seed nodes of a Redis Cluster; unset or empty: a single Redis. */
const clusterNodes = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const nodes = (raw ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const bad = nodes.find((n) => !/^[^\s:]+:\d{1,5}$/.test(n));
    if (bad !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${bad}" is not host:port` });
      return z.NEVER;
    }
    return nodes.length > 0 ? nodes : undefined;
  });

const countries = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (!raw) return undefined;
    const codes = raw.split(',').map((c) => c.trim().toUpperCase());
    const bad = codes.find((c) => !/^[A-Z]{2}$/.test(c));
    if (bad !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${bad}" is not an ISO 3166 alpha-2 code` });
      return z.NEVER;
    }
    return new Set(codes);
  });

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/smsq'),
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
    REDIS_CLUSTER_NODES: clusterNodes,
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
      .default('smsq'),
    PORT: int(0, 65535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    PUBLIC_BASE_URL: z
      .string()
      .url()
      .default('http://localhost:3000')
      .transform((u) => u.replace(/\/+$/, '')),
    API_KEYS: apiKeys,
    DASHBOARD_USER: optionalString,
    DASHBOARD_PASSWORD: optionalString,
    DASHBOARD_READ_ONLY: flag(true),
    INBOUND_KEYWORD_REPLIES: flag(true),
    TWILIO_ACCOUNT_SID: optionalString.pipe(
      z
        .string()
        .regex(/^AC[0-9a-fA-F]{32}$/, 'must be "AC" followed by 32 hex characters')
        .optional(),
    ),
    TWILIO_AUTH_TOKEN: optionalString,
    TWILIO_PHONE_NUMBER: optionalString.pipe(e164.optional()),
    TWILIO_MESSAGING_SERVICE_SID: optionalString.pipe(
      z
        .string()
        .regex(/^MG[0-9a-fA-F]{32}$/, 'must be "MG" followed by 32 hex characters')
        .optional(),
    ),
    TWILIO_API_BASE_URL: optionalString.pipe(z.string().url().optional()),
    TWILIO_TIMEOUT_MS: int(100, 120_000).default(15_000),
    SENDER_MPS: z.coerce.number().positive().default(1),
    SENDER_MPS_OVERRIDES: mpsOverrides,
    ACCOUNT_MPS: z.coerce.number().positive().optional(),
    RATE_RECOVERY_SECONDS: int(1, 86_400).default(30),
    WORKER_CONCURRENCY: int(1, 1000).default(50),
    WORKER_METRICS_PORT: int(0, 65535).default(9100),
    ALLOWED_COUNTRIES: countries,
    RECIPIENT_MAX_PER_HOUR: int(1, 1_000_000).default(30),
    QUIET_HOURS_START: int(0, 23).default(21),
    QUIET_HOURS_END: int(0, 23).default(8),
    OTP_MAX_SENDS: int(1, 1000).default(5),
    OTP_SEND_WINDOW_SECONDS: int(1, 86_400).default(600),
    API_RATE_LIMIT_PER_MINUTE: int(1, 10_000_000).default(6000),
    OTP_SECRET: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    OTP_TTL_SECONDS: int(60, 36_000).default(600),
    OTP_MAX_ATTEMPTS: int(1, 20).default(5),
    PUMPING_GUARD: flag(true),
    PUMPING_PREFIX_DIGITS: int(1, 6).default(3),
    PUMPING_WINDOW_SECONDS: int(60, 3600).default(600),
    PUMPING_BASELINE_WINDOWS: int(1, 2016).default(144),
    PUMPING_FACTOR: z.coerce.number().min(2).max(1000).default(10),
    PUMPING_MIN_SENDS: int(2, 1_000_000).default(20),
    PUMPING_LEARNING_WINDOWS: int(0, 2016).default(1),
    PUMPING_BLOCK_SECONDS: int(60, 7 * 86_400).default(3600),
    PUMPING_BLOCK_MAX_SECONDS: int(60, 7 * 86_400).default(43_200),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SEND_MAX_ATTEMPTS: int(1, 100).default(8),
    WORKER_LOCK_SECONDS: int(5, 600).default(30),
    RECONCILE_INTERVAL_SECONDS: int(1, 3600).default(30),
    RECONCILE_QUEUED_AFTER_SECONDS: int(1, 86_400).default(120),
    RECONCILE_SENT_AFTER_SECONDS: int(10, 7 * 86_400).default(900),
    RECONCILE_PRICE_AFTER_SECONDS: int(1, 86_400).default(60),
    WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(10_000),
    WEBHOOK_ALLOW_PRIVATE: flag(false),
    WEBHOOK_RETRY_SCHEDULE: retrySchedule,
    WEBHOOK_CONCURRENCY: int(1, 1000).default(20),
    WEBHOOK_ENDPOINT_CONCURRENCY: int(1, 100).default(4),
    WEBHOOK_RELAY_INTERVAL_MS: int(10, 60_000).default(250),
    WEBHOOK_RECONCILE_AFTER_SECONDS: z.coerce.number().positive().max(86_400).default(60),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === 'production' && !c.OTP_SECRET) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['OTP_SECRET'],
        message: 'is required when NODE_ENV=production',
      });
    }
    // The compose file's default lets `docker compose up` work out of the box against the simulator; a
    // publicly known key must never hash codes that real Twilio delivers.
    if (c.NODE_ENV === 'production' && c.OTP_SECRET === DEMO_OTP_SECRET && !c.TWILIO_API_BASE_URL) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['OTP_SECRET'],
        message: 'is the public demo value from docker-compose.yml; set your own (openssl rand -hex 32)',
      });
    }
    if (c.PUMPING_BLOCK_MAX_SECONDS < c.PUMPING_BLOCK_SECONDS) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['PUMPING_BLOCK_MAX_SECONDS'],
        message: 'must not be less than PUMPING_BLOCK_SECONDS',
      });
    }
  });

type Env = z.infer<typeof schema>;

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  databaseUrl: string;
  redisUrl: string;
  /** REDIS_CLUSTER_NODES: when set, every Redis connection is a Cluster seeded with these `host:port`s. */
  redisClusterNodes: string[] | undefined;
  queuePrefix: string;
  port: number;
  host: string;
  publicBaseUrl: string;
  /** secret → key name */
  apiKeys: Map<string, string>;
  dashboard: { user: string; password: string } | undefined;
  /** Bull Board without its retry/clean/pause buttons and write endpoints. */
  dashboardReadOnly: boolean;
  /** Answer STOP/START/HELP with TwiML; off where Twilio's own opt-out handling already replies. */
  inboundKeywordReplies: boolean;
  twilio: {
    accountSid: string | undefined;
    authToken: string | undefined;
    phoneNumber: string | undefined;
    messagingServiceSid: string | undefined;
    apiBaseUrl: string | undefined;
    timeoutMs: number;
  };
  senderMps: number;
  senderMpsOverrides: Map<string, number>;
  accountMps: number | undefined;
  /** After Twilio says "too fast", how long a halved sender (or account) rate takes to climb back to full. */
  rateRecoveryMs: number;
  workerConcurrency: number;
  workerMetricsPort: number;
  allowedCountries: Set<string> | undefined;
  recipientMaxPerHour: number;
  /** Local hours [startHour, endHour) in which marketing waits for the morning; undefined when off (start = end). */
  quietHours: { startHour: number; endHour: number } | undefined;
  otpMaxSends: number;
  otpSendWindowSeconds: number;
  apiRateLimitPerMinute: number;
  otpSecret: string | undefined;
  /** Default lifetime of an OTP (and of its SMS). */
  otpTtlSeconds: number;
  /** Wrong codes that end an OTP. */
  otpMaxAttempts: number;
  /** The SMS-pumping guard (apps/api/src/pumping/guard.ts; docs/operations.md, "SMS-pumping guard"). */
  pumping: {
    enabled: boolean;
    /** Digits after the country calling code that make a watched prefix (3: +1 415…, +232 76…). */
    prefixDigits: number;
    /** Width of one counting window. */
    windowMs: number;
    /** Windows averaged into a prefix's baseline (144 × 10 min = 24 h). */
    baselineWindows: number;
    /** A window this many times the baseline is abnormal… */
    factor: number;
    /** …when it also holds at least this many sends. */
    minSends: number;
    /** Complete windows of history the guard needs before it blocks anything. */
    learningWindows: number;
    /** First block of a prefix; each further block within 24 h doubles, up to blockMaxMs. */
    blockMs: number;
    blockMaxMs: number;
  };
  logLevel: Env['LOG_LEVEL'];
  /** Delivery events to callers (docs/api.md, "Webhooks"). */
  webhooks: {
    timeoutMs: number;
    /** Plain http and private, loopback and link-local addresses allowed (tests, the compose stack). */
    allowPrivate: boolean;
    /** The wait before each retry; its length + 1 is the number of attempts. */
    retryDelaysMs: number[];
    concurrency: number;
    endpointConcurrency: number;
    relayIntervalMs: number;
    reconcileAfterMs: number;
  };
  sendMaxAttempts: number;
  /** BullMQ job lock: how long a killed worker's job waits before another worker takes it over. */
  workerLockMs: number;
  reconcile: {
    intervalMs: number;
    /** A queued/sending message untouched this long is checked for a lost job. */
    queuedAfterMs: number;
    /** A submitted/sent message with no callback this long is fetched from Twilio. */
    sentAfterMs: number;
    /** A delivered/undelivered message still without a price this long is fetched for it. */
    priceAfterMs: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment once; the first bad variable is named in the error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable is an unset one (compose passes `${VAR:-}` through as ""), so its default applies.
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const value = env[variable];
    const shown = value === undefined || /SECRET|TOKEN|PASSWORD|KEYS/.test(variable) ? '' : ` (got "${value}")`;
    throw new ConfigError(variable, `${issue.message}${shown}`);
  }
  const c = parsed.data;
  return {
    nodeEnv: c.NODE_ENV,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    redisClusterNodes: c.REDIS_CLUSTER_NODES,
    queuePrefix: c.QUEUE_PREFIX,
    port: c.PORT,
    host: c.HOST,
    publicBaseUrl: c.PUBLIC_BASE_URL,
    apiKeys: c.API_KEYS,
    dashboard:
      c.DASHBOARD_USER && c.DASHBOARD_PASSWORD ? { user: c.DASHBOARD_USER, password: c.DASHBOARD_PASSWORD } : undefined,
    dashboardReadOnly: c.DASHBOARD_READ_ONLY,
    inboundKeywordReplies: c.INBOUND_KEYWORD_REPLIES,
    twilio: {
      accountSid: c.TWILIO_ACCOUNT_SID,
      authToken: c.TWILIO_AUTH_TOKEN,
      phoneNumber: c.TWILIO_PHONE_NUMBER,
      messagingServiceSid: c.TWILIO_MESSAGING_SERVICE_SID,
      apiBaseUrl: c.TWILIO_API_BASE_URL?.replace(/\/+$/, ''),
      timeoutMs: c.TWILIO_TIMEOUT_MS,
    },
    senderMps: c.SENDER_MPS,
    senderMpsOverrides: c.SENDER_MPS_OVERRIDES,
    accountMps: c.ACCOUNT_MPS,
    rateRecoveryMs: c.RATE_RECOVERY_SECONDS * 1000,
    workerConcurrency: c.WORKER_CONCURRENCY,
    workerMetricsPort: c.WORKER_METRICS_PORT,
    allowedCountries: c.ALLOWED_COUNTRIES,
    recipientMaxPerHour: c.RECIPIENT_MAX_PER_HOUR,
    quietHours:
      c.QUIET_HOURS_START === c.QUIET_HOURS_END
        ? undefined
        : { startHour: c.QUIET_HOURS_START, endHour: c.QUIET_HOURS_END },
    otpMaxSends: c.OTP_MAX_SENDS,
    otpSendWindowSeconds: c.OTP_SEND_WINDOW_SECONDS,
    apiRateLimitPerMinute: c.API_RATE_LIMIT_PER_MINUTE,
    otpSecret: c.OTP_SECRET,
    otpTtlSeconds: c.OTP_TTL_SECONDS,
    otpMaxAttempts: c.OTP_MAX_ATTEMPTS,
    pumping: {
      enabled: c.PUMPING_GUARD,
      prefixDigits: c.PUMPING_PREFIX_DIGITS,
      windowMs: c.PUMPING_WINDOW_SECONDS * 1000,
      baselineWindows: c.PUMPING_BASELINE_WINDOWS,
      factor: c.PUMPING_FACTOR,
      minSends: c.PUMPING_MIN_SENDS,
      learningWindows: c.PUMPING_LEARNING_WINDOWS,
      blockMs: c.PUMPING_BLOCK_SECONDS * 1000,
      blockMaxMs: c.PUMPING_BLOCK_MAX_SECONDS * 1000,
    },
    logLevel: c.LOG_LEVEL,
    webhooks: {
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      allowPrivate: c.WEBHOOK_ALLOW_PRIVATE,
      retryDelaysMs: c.WEBHOOK_RETRY_SCHEDULE,
      concurrency: c.WEBHOOK_CONCURRENCY,
      endpointConcurrency: c.WEBHOOK_ENDPOINT_CONCURRENCY,
      relayIntervalMs: c.WEBHOOK_RELAY_INTERVAL_MS,
      reconcileAfterMs: c.WEBHOOK_RECONCILE_AFTER_SECONDS * 1000,
    },
    sendMaxAttempts: c.SEND_MAX_ATTEMPTS,
    workerLockMs: c.WORKER_LOCK_SECONDS * 1000,
    reconcile: {
      intervalMs: c.RECONCILE_INTERVAL_SECONDS * 1000,
      queuedAfterMs: c.RECONCILE_QUEUED_AFTER_SECONDS * 1000,
      sentAfterMs: c.RECONCILE_SENT_AFTER_SECONDS * 1000,
      priceAfterMs: c.RECONCILE_PRICE_AFTER_SECONDS * 1000,
    },
  };
}

/** For entry points: a bad setting ends the process with one line naming the variable. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`smsq: invalid configuration: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
