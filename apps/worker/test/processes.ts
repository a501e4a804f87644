import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { ACCOUNT_SID, AUTH_TOKEN, FROM } from '../../../test/stack.js';

/**
 * Worker and simulator processes for the throughput tests and `npm run bench:mps`. The simulator runs
 * apart from the test process, like Twilio: its clock then stamps requests when they arrive, not when a
 * busy test process gets round to them.
 */

/** Starts `apps/worker/src/main.ts` and resolves once it takes jobs. */
export async function spawnWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/worker/src/main.ts'], {
    env: { ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await untilOutput(child, /"msg":"worker started"/);
  return child;
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `apps/api/src/main.ts` on 127.0.0.1 and resolves with the URL it listens on: PORT=0 (any free
 * port) unless `env` sets one. Info level, because that is where Fastify says which port it took.
 */
export async function spawnApi(env: NodeJS.ProcessEnv): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
    env: { PORT: '0', ...env, HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [, url] = await untilOutput(child, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
  return { url: url!, child, stop: () => stopProcess(child) };
}

/** SIGTERM (a graceful shutdown), SIGKILL if it has not exited after `graceMs`; resolves once it has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Waits for a line on the child's stdout; the rest of its output is read and dropped. */
async function untilOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  let output = '';
  try {
    return await new Promise<RegExpExecArray>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = pattern.exec(output);
        if (found) resolve(found);
      });
      child.once('exit', (code) => reject(new Error(`the process exited (${code}) before printing ${pattern}`)));
    });
  } finally {
    child.stdout!.removeAllListeners('data');
    child.stdout!.resume();
  }
}

export interface SimProcess {
  url: string;
  child: ChildProcess;
  /** A control route of the simulator (`/_sim/...`). */
  control<T>(path: string, body?: object): Promise<T>;
  stop(): Promise<void>;
}

export async function spawnSim(env: NodeJS.ProcessEnv): Promise<SimProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/twilio-sim/src/main.ts'], {
    env: { ...env, SIM_PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [, url] = await untilOutput(child, /listening on (http:\/\/\S+)/);
  return {
    url: url!,
    child,
    async control<T>(path: string, body?: object) {
      const res = await fetch(`${url}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await res.json()) as T;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** The simulator as a process of its own, with the test stack's Twilio account (test/stack.ts). */
export const spawnStackSim = () =>
  spawnSim({
    ...process.env,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: FROM,
  });

/** The creates the simulator received whose body starts with `tag #`, as it recorded them. */
export interface Received {
  body: string | null;
  sid: string | null;
  status: string;
  errorCode: number | null;
  receivedAt: string;
}
export async function receivedWithTag(sim: Pick<SimProcess, 'control'>, tag: string): Promise<Received[]> {
  const { messages } = await sim.control<{ messages: Received[] }>('/_sim/messages');
  return messages.filter((m) => m.body?.startsWith(`${tag} #`));
}
