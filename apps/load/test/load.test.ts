import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../../../test/stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs a script the way `npm run load` / `npm run bench` do, and returns its exit code and output. */
function run(script: string, args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: inject('redisUrl'), DATABASE_URL: inject('databaseUrl'), ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('npm run load', () => {
  it('starts its own stack, loads it briefly and finds every accepted message at Twilio exactly once', async () => {
    const { code, out } = await run(
      'apps/load/src/main.ts',
      ['--mode', 'batch', '--duration', '2', '--connections', '2', '--batch-size', '20', '--workers', '1'],
      {},
    );
    expect(out).toMatch(/accepted\s+[1-9][\d,]* messages/);
    expect(out).toMatch(/: 0 missing, 0 sent more than once, 0 with a wrong body/);
    expect(out).toMatch(/Peak RSS\n\s+sim \d+ MiB, api \d+ MiB, worker-1 \d+ MiB/);
    expect(out).toMatch(/^OK$/m);
    expect(code).toBe(0);
  }, 120_000);

  describe('against a running stack (SMSQ_API_URL)', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ env: { SENDER_MPS: '100000' } });
    });
    afterAll(async () => {
      await stack.close();
    });

    it('loads single messages and verifies them at the simulator', async () => {
      const simAddress = stack.sim!.app.server.address();
      const simPort = typeof simAddress === 'object' && simAddress ? simAddress.port : 0;
      const { code, out } = await run(
        'apps/load/src/main.ts',
        ['--mode', 'single', '--duration', '2', '--connections', '4'],
        {
          SMSQ_API_URL: stack.config.publicBaseUrl,
          SMSQ_API_KEY: API_KEY,
          SMSQ_SIM_URL: `http://127.0.0.1:${simPort}`,
        },
      );
      expect(out).toMatch(/HTTP 202: [1-9]/);
      expect(out).toMatch(/: 0 missing, 0 sent more than once, 0 with a wrong body/);
      expect(out).toMatch(/^OK$/m);
      expect(code).toBe(0);
    }, 120_000);
  });
});

describe('npm run bench', () => {
  it('runs the floor and smsq side by side at a tiny size and prints the table', async () => {
    const { code, out } = await run(
      'bench/run.ts',
      [
        '--seconds',
        '1',
        '--batch-size',
        '50',
        '--batch-connections',
        '2',
        '--drain',
        '100',
        '--workers',
        '1',
        '--phases',
        'intake,drain',
      ],
      {},
    );
    expect(out).toMatch(/floor 1: INSERT \+ add, 64 in flight\s+[\d,]+/);
    expect(out).toMatch(/single POST, 64 connections\s+[\d,]+\s+[\d.]+/);
    expect(out).toMatch(/batch, 2 × 50 per request\s+[\d,]+/);
    expect(out).toMatch(/drain, 1 worker × 50, 100 msgs\s+[\d,]+\s+[\d.]+\s+—\s+—\s+0/);
    expect(out).toMatch(/CPU µs per message/);
    expect(out).toMatch(/peak RSS: API \d+ MiB/);
    expect(code).toBe(0);
    // Each phase waits up to ~10 s for Postgres to report its backends' writes (PostgreSQL 15 reports an
    // idle backend's statistics 10 s late): about 110 s on a quiet 2-core machine, more under load.
  }, 300_000);
});
