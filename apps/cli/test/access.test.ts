import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../../../test/stack.js';
import { cli } from './cli.js';

let stack: Stack;
let env: Record<string, string>;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false });
  env = { SMSQ_API_URL: stack.config.publicBaseUrl, SMSQ_API_KEY: API_KEY };
});
afterAll(async () => stack.close());

describe('smsq services and smsq keys', () => {
  it('creates a service and a key, lists them without the secret, and revokes the key', async () => {
    const made = await cli(['services', 'create', 'payments', '--daily-segment-limit', '1000'], env);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^Created service payments \(.+\)\.$/m);
    const listed = await cli(['services', 'list'], env);
    expect(listed.stdout).toMatch(/^payments\s+\S+\s+1000\s+-$/m);

    const key = await cli(
      ['--json', 'keys', 'create', 'payments', '--scope', 'messages:send', '--scope', 'messages:read'],
      env,
    );
    expect(key.code).toBe(0);
    const created = JSON.parse(key.stdout).key as { id: string; key: string; scopes: string[] };
    expect(created.key).toMatch(/^smsq_live_[0-9a-f]{16}_[0-9a-f]{64}$/);
    expect(created.scopes).toEqual(['messages:send', 'messages:read']);
    // The new key works at once, for what its scopes allow.
    const read = await stack.api.inject({ url: '/v1/messages', headers: { authorization: `Bearer ${created.key}` } });
    expect(read.statusCode).toBe(200);

    const keys = await cli(['keys', 'list', 'payments'], env);
    expect(keys.stdout).toContain(created.id);
    expect(keys.stdout).toMatch(/active\s+messages:send,messages:read/);
    expect(keys.stdout).not.toContain(created.key.split('_')[3]);

    const revoked = await cli(['keys', 'revoke', created.id], env);
    expect(revoked.code).toBe(0);
    expect((await cli(['keys', 'list', 'payments'], env)).stdout).toMatch(/revoked/);
    const refused = await stack.api.inject({
      url: '/v1/messages',
      headers: { authorization: `Bearer ${created.key}` },
    });
    expect(refused.statusCode).toBe(401);
  });

  it('exits 1 with the API refusal for a key without the admin scope, 2 for a bad scope argument', async () => {
    const made = JSON.parse(
      (await cli(['--json', 'keys', 'create', 'payments', '--scope', 'messages:send'], env)).stdout,
    );
    const denied = await cli(['services', 'list'], { ...env, SMSQ_API_KEY: made.key.key });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/403 insufficient_scope/);
    expect((await cli(['keys', 'create', 'payments'], env)).code).toBe(2);
    expect((await cli(['keys', 'create', 'nobody', '--scope', 'admin'], env)).code).toBe(1);
  });
});
