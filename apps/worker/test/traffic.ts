import type { PrismaClient } from '@smsq/shared';
import type { FastifyInstance } from 'fastify';
import { AUTH, eventually } from '../../../test/stack.js';

const FINAL = ['delivered', 'undelivered', 'failed', 'expired', 'canceled'];

export interface PostOptions {
  /** More fields for every message (category, ttlSeconds, …). */
  extra?: object;
  /** Appended to every body (`<tag> #<i><suffix>`), e.g. to make long messages. */
  suffix?: string;
  /** Recipients are +1415555NNNN from this number on. */
  firstNumber?: number;
}

/** Posts `n` messages through the API, 50 at a time; bodies are `<tag> #<i>` so the simulator's record can be matched. */
export async function postMessages(
  api: FastifyInstance,
  n: number,
  tag: string,
  { extra = {}, suffix = '', firstNumber = 3000 }: PostOptions = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 50) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        api.inject({
          method: 'POST',
          url: '/v1/messages',
          headers: AUTH,
          payload: {
            to: `+1415555${String(firstNumber + i + j).padStart(4, '0')}`,
            body: `${tag} #${i + j}${suffix}`,
            ...extra,
          },
        }),
      ),
    );
    for (const r of replies) {
      if (r.statusCode !== 202) throw new Error(`POST /v1/messages answered ${r.statusCode}: ${r.body}`);
      ids.push(r.json().id);
    }
  }
  return ids;
}

export async function allFinal(prisma: PrismaClient, ids: string[], timeoutMs: number): Promise<void> {
  await eventually(async () => {
    const open = await prisma.message.count({ where: { id: { in: ids }, status: { notIn: FINAL as never[] } } });
    return open === 0 ? true : undefined;
  }, timeoutMs);
}
