import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSim, type Sim } from '@smsq/twilio-sim';
import { createTestStores, type TestStores } from '../../../test/context.js';
import { adminUrl } from '../../../test/database-urls.js';
import { ACCOUNT_SID, AUTH_TOKEN, FROM } from '../../../test/stack.js';
import { cli, closedPort } from './cli.js';

let stores: TestStores;
let sim: Sim;
let env: Record<string, string>;
beforeAll(async () => {
  stores = await createTestStores();
  sim = await buildSim({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  env = {
    NODE_ENV: 'test',
    DATABASE_URL: stores.databaseUrl,
    REDIS_URL: stores.redisUrl,
    API_KEYS: 'ops:secret',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: FROM,
    TWILIO_API_BASE_URL: await sim.app.listen({ port: 0, host: '127.0.0.1' }),
    TWILIO_TIMEOUT_MS: '3000',
  };
});
afterAll(async () => {
  await sim?.close();
  await stores?.drop();
});

const checkSetup = (overrides: Record<string, string | undefined> = {}, json = false) =>
  cli(['check-setup', ...(json ? ['--json'] : [])], { ...env, ...overrides });

describe('smsq check-setup', () => {
  it('passes every check on a working setup', async () => {
    const { code, stdout, stderr } = await checkSetup();
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s{2,}/)[0])).toEqual([
      '✓ settings',
      '✓ redis',
      '✓ postgres',
      '✓ twilio account',
      '✓ sender',
      'Setup is complete.',
    ]);
    expect(stdout).toContain(`${FROM} belongs to the account and can send SMS`);
    expect(stdout).toMatch(/all \d+ migrations applied/);
  });

  it('prints one JSON object with --json', async () => {
    const { code, stdout } = await checkSetup({}, true);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ['settings', true],
      ['redis', true],
      ['postgres', true],
      ['twilio account', true],
      ['sender', true],
    ]);
  });

  it('accepts a Messaging Service instead of a sender number', async () => {
    const { code, stdout } = await checkSetup({
      TWILIO_PHONE_NUMBER: undefined,
      TWILIO_MESSAGING_SERVICE_SID: `MG${'c3'.repeat(16)}`,
    });
    expect(code).toBe(0);
    expect(stdout).toContain('sends through Messaging Service MG');
  });

  const failures: [string, () => Promise<Record<string, string | undefined>>, string, RegExp][] = [
    [
      'a malformed Account SID',
      async () => ({ TWILIO_ACCOUNT_SID: 'AC123' }),
      'settings',
      /TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex characters/,
    ],
    [
      'a missing sender',
      async () => ({ TWILIO_PHONE_NUMBER: '' }),
      'settings',
      /TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID must be set/,
    ],
    [
      'an unreachable Redis',
      async () => ({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` }),
      'redis',
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/?: connect ECONNREFUSED/,
    ],
    [
      'an unreachable Postgres',
      async () => ({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${await closedPort()}/smsq` }),
      'postgres',
      /cannot use Postgres at postgresql:\/\/postgres@127\.0\.0\.1:\d+\/smsq: Can't reach database server/,
    ],
    [
      'a database without migrations',
      async () => ({ DATABASE_URL: adminUrl(stores.databaseUrl) }),
      'postgres',
      /no migrations are applied .*: run npm run db:migrate/,
    ],
    [
      'a wrong auth token',
      async () => ({ TWILIO_AUTH_TOKEN: 'f0'.repeat(16) }),
      'twilio account',
      /Twilio refused the credentials \(error 20003\): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/,
    ],
    [
      'an unreachable Twilio',
      async () => ({ TWILIO_API_BASE_URL: `http://127.0.0.1:${await closedPort()}` }),
      'twilio account',
      /Twilio is unreachable at http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    ],
    [
      'a sender the account does not own',
      async () => ({ TWILIO_PHONE_NUMBER: '+14155550100' }),
      'sender',
      /TWILIO_PHONE_NUMBER \+14155550100 is not a number of this Twilio account/,
    ],
  ];

  it.each(failures)('stops at %s with exit 1 and the reason', async (_what, overrides, failing, reason) => {
    const changed = await overrides();
    const human = await checkSetup(changed);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(new RegExp(`^✗ ${failing}\\s+`));
    expect(human.stderr).toMatch(reason);
    expect(human.stderr.trim().split('\n')).toHaveLength(1);

    const json = await checkSetup(changed, true);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    const result = JSON.parse(json.stdout);
    expect(result.ok).toBe(false);
    const last = result.checks.at(-1);
    expect(last).toMatchObject({ name: failing, ok: false });
    expect(last.detail).toMatch(reason);
    expect(result.checks.slice(0, -1).every((c: { ok: boolean }) => c.ok)).toBe(true);
  });
});
