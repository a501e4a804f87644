import { describe, expect, it } from 'vitest';
import { ConfigError, DEMO_OTP_SECRET, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      databaseUrl: 'postgresql://postgres@127.0.0.1:5432/smsq',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'smsq',
      port: 3000,
      host: '0.0.0.0',
      publicBaseUrl: 'http://localhost:3000',
      senderMps: 1,
      workerConcurrency: 50,
      workerMetricsPort: 9100,
      recipientMaxPerHour: 30,
      otpMaxSends: 5,
      otpSendWindowSeconds: 600,
      apiRateLimitPerMinute: 6000,
      logLevel: 'info',
      allowedCountries: undefined,
      dashboard: undefined,
    });
    expect(c.apiKeys.size).toBe(0);
  });

  it('parses the composite settings', () => {
    const c = loadConfig({
      API_KEYS: 'bank:s3cret,web:other:colon',
      SENDER_MPS_OVERRIDES: '+18005551234:3,12345:100',
      ALLOWED_COUNTRIES: 'us, ca,GB',
      PUBLIC_BASE_URL: 'https://smsq.example.com/',
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'pw',
    });
    expect([...c.apiKeys]).toEqual([
      ['s3cret', 'bank'],
      ['other:colon', 'web'],
    ]);
    expect([...c.senderMpsOverrides]).toEqual([
      ['+18005551234', 3],
      ['12345', 100],
    ]);
    expect([...c.allowedCountries!]).toEqual(['US', 'CA', 'GB']);
    expect(c.publicBaseUrl).toBe('https://smsq.example.com');
    expect(c.dashboard).toEqual({ user: 'ops', password: 'pw' });
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['REDIS_URL', { REDIS_URL: 'not a url' }],
    ['TWILIO_ACCOUNT_SID', { TWILIO_ACCOUNT_SID: 'SK123' }],
    ['TWILIO_PHONE_NUMBER', { TWILIO_PHONE_NUMBER: '555-1234' }],
    ['SENDER_MPS', { SENDER_MPS: '0' }],
    ['SENDER_MPS_OVERRIDES', { SENDER_MPS_OVERRIDES: '+1800:fast' }],
    ['API_KEYS', { API_KEYS: 'nosecret' }],
    ['ALLOWED_COUNTRIES', { ALLOWED_COUNTRIES: 'USA' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['OTP_SECRET', { NODE_ENV: 'production' }],
    ['OTP_SECRET', { NODE_ENV: 'production', OTP_SECRET: DEMO_OTP_SECRET }],
  ])('names %s when it is wrong', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as Error).message.startsWith(variable)).toBe(true);
    }
  });

  it("accepts compose's demo OTP secret only while messages go to a simulator", () => {
    const env = { NODE_ENV: 'production', OTP_SECRET: DEMO_OTP_SECRET, TWILIO_API_BASE_URL: 'http://twilio-sim:4010' };
    expect(loadConfig(env).otpSecret).toBe(DEMO_OTP_SECRET);
  });

  it('treats an empty variable as unset, as compose passes `${VAR:-}` through', () => {
    const c = loadConfig({ SENDER_MPS: '', ACCOUNT_MPS: '', DASHBOARD_READ_ONLY: '', ALLOWED_COUNTRIES: '' });
    expect(c).toMatchObject({ senderMps: 1, accountMps: undefined, dashboardReadOnly: true });
    expect(c.allowedCountries).toBeUndefined();
  });

  it('reads REDIS_CLUSTER_NODES as host:port seeds; unset or empty is a single Redis', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-2:7001' }).redisClusterNodes).toEqual([
      '10.0.0.1:7000',
      'redis-2:7001',
    ]);
    expect(loadConfig({}).redisClusterNodes).toBeUndefined();
    expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).redisClusterNodes).toBeUndefined();
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis-1' })).toThrow(/^REDIS_CLUSTER_NODES /);
  });

  it('refuses an API_KEYS name with "#" (it marks a service\'s test traffic)', () => {
    expect(() => loadConfig({ API_KEYS: 'billing#test:s3cret' })).toThrow(/^API_KEYS /);
  });

  it('never echoes a secret in its error', () => {
    expect(() => loadConfig({ API_KEYS: 'hunter2hunter2' })).toThrow(/^API_KEYS /);
    expect(() => loadConfig({ API_KEYS: 'hunter2hunter2' })).not.toThrow(/hunter2/);
  });
});
