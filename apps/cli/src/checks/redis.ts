import { createRedis } from '@smsq/shared';
import { Failure } from '../failure.js';
import { safeUrl } from './safe-url.js';

/** PING through the same client settings as the API, which gives up after one retry. */
export async function checkRedis(url: string, clusterNodes?: string[]): Promise<string> {
  const redis = createRedis(url, 'producer', clusterNodes);
  // The client reports connection failures as events; the command itself only says it gave up.
  let connectionError: Error | undefined;
  redis.on('error', (err: Error) => {
    connectionError = err;
  });
  const started = performance.now();
  try {
    await redis.ping();
    return `${safeUrl(url)} answered PING in ${Math.round(performance.now() - started)} ms`;
  } catch (err) {
    throw new Failure(`cannot reach Redis at ${safeUrl(url)}: ${(connectionError ?? (err as Error)).message}`);
  } finally {
    redis.disconnect();
  }
}
