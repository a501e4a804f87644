import { unavailable } from '../errors.js';

const ENQUEUE_TIMEOUT_MS = 2000;

/** BullMQ waits for Redis indefinitely; a caller must not, so a slow or absent Redis becomes a 503. */
export async function boundedEnqueue<T>(add: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable('the queue')), ENQUEUE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([add, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
