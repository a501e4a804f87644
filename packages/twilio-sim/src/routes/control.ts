import type { FastifyInstance } from 'fastify';
import type { SimContext } from '../context.js';
import { defaultFaults, type Faults, faultsBodySchema } from '../faults.js';
import type { ReceivedCreate } from '../state.js';

function statusOf(entry: ReceivedCreate): string {
  if (entry.message !== null) return entry.message.status;
  return entry.heldWithoutAnswer ? 'timeout' : 'rejected';
}

/** One received create, as GET /_sim/messages lists it. */
function receivedJson(entry: ReceivedCreate) {
  return {
    sid: entry.message?.sid ?? null,
    to: entry.to,
    from: entry.from,
    messagingServiceSid: entry.messagingServiceSid,
    body: entry.body,
    status: statusOf(entry),
    errorCode: entry.refusal ?? entry.message?.errorCode ?? null,
    statusCallback: entry.statusCallback,
    validityPeriod: entry.validityPeriod,
    attempt: entry.attempt,
    receivedAt: entry.receivedAt.toISOString(),
    response: entry.response,
    callbacks: entry.callbacks.map((callback) => ({ ...callback, at: callback.at.toISOString() })),
  };
}

function countBy<T>(items: T[], key: (item: T) => string | null): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const name = key(item);
    if (name !== null) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** Unauthenticated JSON routes that let tests and operators inspect and steer the sim. */
export function controlRoutes(app: FastifyInstance, context: SimContext): void {
  const { state, runner } = context;

  app.get<{ Querystring: { to?: string } }>('/_sim/messages', async (request) => {
    const { to } = request.query;
    const entries = to === undefined ? state.received : state.received.filter((entry) => entry.to === to);
    return { messages: entries.map(receivedJson) };
  });

  app.get('/_sim/stats', async () => {
    const received = state.received;
    const created = received.filter((entry) => entry.message !== null);
    return {
      received: received.length,
      created: created.length,
      rejected: countBy(received, (entry) => (entry.refusal === null ? null : String(entry.refusal))),
      timedOut: received.filter((entry) => entry.heldWithoutAnswer).length,
      // Created but answered with an error (createThenFailRate).
      createdThenFailed: created.filter((entry) => entry.response !== null && entry.response.httpStatus >= 400).length,
      // Per attempt: a callback retried after a failure counts once as failed and once more.
      callbacks: { ...state.callbackTotals },
      byStatus: countBy(created, (entry) => entry.message?.status ?? null),
    };
  });

  app.post('/_sim/reset', async () => {
    await runner.stop();
    state.reset();
    return { ok: true };
  });

  app.get('/_sim/faults', async () => state.faults);

  // Replaces the whole fault set: omitted fields go back to their defaults.
  app.post<{ Body: Partial<Faults> }>('/_sim/faults', { schema: { body: faultsBodySchema } }, async (request) => {
    state.faults = { ...defaultFaults(), ...request.body };
    return state.faults;
  });
}
