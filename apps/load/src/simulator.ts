/** What the load test reads from the Twilio simulator's control routes (/_sim). */
export interface SimStats {
  received: number;
  created: number;
  callbacks: { sent: number; failed: number };
}

interface SimMessage {
  sid: string | null;
  body: string | null;
  statusCallback: string | null;
}

export async function simStats(simUrl: string): Promise<SimStats> {
  const res = await fetch(`${simUrl}/_sim/stats`);
  if (!res.ok) throw new Error(`GET /_sim/stats answered ${res.status}`);
  return (await res.json()) as SimStats;
}

export interface Drain {
  /** Messages the simulator created, counted from the baseline. */
  created: number;
  /** Seconds from `since` until as many messages as were accepted reached the simulator (or the timeout). */
  createdSeconds: number;
  /** Seconds from `since` until the API had taken both status callbacks (sent, delivered) of as many. */
  callbacksSeconds: number | undefined;
  /** Seconds from `since` until every message in the database was delivered (when `pending` is given). */
  deliveredSeconds: number | undefined;
  complete: boolean;
}

/**
 * Polls the simulator (and optionally the database) until `expected` messages were created and both
 * of their status callbacks were taken by the API, or `timeoutMs` passes. Requests still in flight when
 * the load stopped may add a few messages the load generator never saw accepted; `pending` (messages
 * in the database not yet delivered) covers them too.
 */
export async function waitForDrain(opts: {
  simUrl: string;
  baseline: SimStats;
  expected: number;
  since: number;
  timeoutMs: number;
  pending?: () => Promise<number>;
}): Promise<Drain> {
  const { simUrl, baseline, expected, since } = opts;
  const deadline = Date.now() + opts.timeoutMs;
  let createdAt: number | undefined;
  let callbacksAt: number | undefined;
  let deliveredAt: number | undefined;
  let created = 0;
  for (;;) {
    const stats = await simStats(simUrl);
    const now = Date.now();
    created = stats.created - baseline.created;
    if (createdAt === undefined && created >= expected) createdAt = now;
    if (callbacksAt === undefined && stats.callbacks.sent - baseline.callbacks.sent >= 2 * expected) callbacksAt = now;
    if (deliveredAt === undefined && opts.pending && createdAt !== undefined && (await opts.pending()) === 0) {
      deliveredAt = now;
    }
    const done = createdAt !== undefined && callbacksAt !== undefined && (!opts.pending || deliveredAt !== undefined);
    if (done || now > deadline) {
      const secs = (t: number | undefined) => (t === undefined ? undefined : (t - since) / 1000);
      return {
        created,
        createdSeconds: secs(createdAt) ?? (now - since) / 1000,
        callbacksSeconds: secs(callbacksAt),
        deliveredSeconds: secs(deliveredAt),
        complete: done,
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Verification {
  accepted: number;
  /** Accepted but never created at the simulator. */
  missing: number;
  /** Created at the simulator more than once (accepted or in flight at the end). */
  duplicated: number;
  /** Arrived with another body than the one sent. */
  wrongBody: number;
  /** This run's messages whose answer the load generator never read (in flight when it stopped). */
  inFlightAtEnd: number;
  /** Other messages at the simulator (other traffic on a shared stack). */
  unexpected: number;
}

const OTP_TEXT = /^Your OTP is: \d{4,10}\n\nThis OTP will expire in \d+ minutes?\.$/;
export const isOtpText = (body: string) => OTP_TEXT.test(body);

/**
 * Checks that every accepted message was created at the simulator exactly once, with its body. The
 * StatusCallback URL carries our message id (`?mid=`), which ties each Twilio create to one message.
 * `ownBody` recognises this run's messages among those it did not see accepted.
 */
async function verifyExactlyOnce(
  simUrl: string,
  baseline: SimStats,
  accepted: Map<string, string | undefined>,
  ownBody: (body: string) => boolean,
): Promise<Verification> {
  const res = await fetch(`${simUrl}/_sim/messages`);
  const { messages } = (await res.json()) as { messages: SimMessage[] };
  const seen = new Map<string, number>();
  const late = new Set<string>();
  let wrongBody = 0;
  let unexpected = 0;
  for (const m of messages.slice(baseline.received)) {
    if (m.sid === null) continue; // refused by the simulator: nothing was sent
    const id = m.statusCallback ? new URL(m.statusCallback).searchParams.get('mid') : null;
    if (!id) {
      unexpected += 1;
      continue;
    }
    seen.set(id, (seen.get(id) ?? 0) + 1);
    if (!accepted.has(id)) {
      if (ownBody(m.body ?? '')) late.add(id);
      else unexpected += 1;
      continue;
    }
    const expectedBody = accepted.get(id);
    if (expectedBody === undefined ? !isOtpText(m.body ?? '') : m.body !== expectedBody) wrongBody += 1;
  }
  let missing = 0;
  for (const id of accepted.keys()) if (!seen.has(id)) missing += 1;
  const duplicated = [...seen].filter(([id, n]) => n > 1 && (accepted.has(id) || late.has(id))).length;
  return { accepted: accepted.size, missing, duplicated, wrongBody, inFlightAtEnd: late.size, unexpected };
}

/** Verifies, and while messages are missing keeps looking until `deadline` (stragglers still on their way). */
export async function verifyWhenSettled(
  simUrl: string,
  baseline: SimStats,
  accepted: Map<string, string | undefined>,
  ownBody: (body: string) => boolean,
  deadline: number,
): Promise<Verification> {
  for (;;) {
    const v = await verifyExactlyOnce(simUrl, baseline, accepted, ownBody);
    if (v.missing === 0 || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
