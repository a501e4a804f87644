import autocannon from 'autocannon';
import { isOtpText } from './simulator.js';

export const MODES = ['single', 'batch', 'otp'] as const;
export type Mode = (typeof MODES)[number];

const PATHS: Record<Mode, string> = { single: '/v1/messages', batch: '/v1/messages/batch', otp: '/v1/otp' };

export interface LoadOptions {
  apiUrl: string;
  apiKey: string;
  mode: Mode;
  connections: number;
  durationSeconds: number;
  /** Messages per request in batch mode. */
  batchSize: number;
  /** Appears in every body, so the run's messages are recognisable at the simulator. */
  runId: string;
}

export interface LoadResult {
  mode: Mode;
  seconds: number;
  requests: number;
  /** Message id → the body it must arrive with (undefined for OTPs: the code is secret). */
  accepted: Map<string, string | undefined>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** HTTP status → responses. */
  statuses: Record<string, number>;
  /** Error code → count, from error responses and refused batch items. */
  errorCodes: Record<string, number>;
  /** Connection errors and timeouts (no HTTP answer at all). */
  socketErrors: number;
  timeouts: number;
}

interface ItemResult {
  id?: string;
  error?: { code?: string };
}
interface ConnectionContext {
  sent?: string[];
}

/**
 * Distinct valid US numbers (+1 415 200-0000 … 999-9999), starting somewhere random, so repeated runs
 * against one stack stay clear of the per-recipient caps.
 */
class Recipients {
  private n = Math.floor(Math.random() * 8_000_000);
  next(): string {
    this.n = (this.n + 1) % 8_000_000;
    return `+1415${2_000_000 + this.n}`;
  }
}

/** Recognises this run's messages by their body (an OTP's body is only recognisable as an OTP). */
export const isOwnBody = (mode: Mode, runId: string) =>
  mode === 'otp' ? isOtpText : (body: string) => body.startsWith(`load ${runId} `);

/** Whether the route for a mode exists: an empty body gets 400 from a real route, 404 from none. */
export async function routeExists(apiUrl: string, apiKey: string, mode: Mode): Promise<boolean> {
  const res = await fetch(`${apiUrl}${PATHS[mode]}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: '{}',
  });
  await res.body?.cancel();
  return res.status !== 404;
}

/** Drives one endpoint with autocannon for a while and collects what it accepted. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const recipients = new Recipients();
  let seq = 0;
  const accepted = new Map<string, string | undefined>();
  const errorCodes: Record<string, number> = {};
  const countError = (code: string | undefined) => {
    const key = code ?? 'unknown';
    errorCodes[key] = (errorCodes[key] ?? 0) + 1;
  };
  const nextMessage = () => ({ to: recipients.next(), body: `load ${opts.runId} ${++seq}` });

  function payload(context: ConnectionContext): string {
    if (opts.mode === 'otp') return JSON.stringify({ to: recipients.next(), purpose: 'load' });
    if (opts.mode === 'single') {
      const m = nextMessage();
      context.sent = [m.body];
      return JSON.stringify(m);
    }
    const items = Array.from({ length: opts.batchSize }, nextMessage);
    context.sent = items.map((m) => m.body);
    return JSON.stringify({ messages: items });
  }

  function onResponse(status: number, text: string, context: ConnectionContext) {
    let body: { id?: string; messageId?: string; results?: ItemResult[]; error?: { code?: string } };
    try {
      body = JSON.parse(text);
    } catch {
      if (status >= 300) countError(`http_${status}`);
      return;
    }
    if (status >= 300) return countError(body.error?.code ?? `http_${status}`);
    if (opts.mode === 'otp') {
      if (body.messageId) accepted.set(body.messageId, undefined);
    } else if (opts.mode === 'single') {
      if (body.id) accepted.set(body.id, context.sent?.[0]);
    } else {
      (body.results ?? []).forEach((r, i) => {
        if (r.id) accepted.set(r.id, context.sent?.[i]);
        else countError(r.error?.code);
      });
    }
  }

  const result = await autocannon({
    url: opts.apiUrl,
    connections: opts.connections,
    duration: opts.durationSeconds,
    timeout: 30,
    headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        path: PATHS[opts.mode],
        setupRequest: (req, context) => ({ ...req, body: payload(context as ConnectionContext) }),
        onResponse: (status, body, context) => onResponse(status, body, context as ConnectionContext),
      },
    ],
  });

  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = count ?? 0;
  return {
    mode: opts.mode,
    seconds: result.duration,
    requests: result.requests.total,
    accepted,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    statuses,
    errorCodes,
    socketErrors: result.errors,
    timeouts: result.timeouts,
  };
}

/**
 * Posts `count` messages through the batch endpoint (1000 per request, `parallel` requests at a time)
 * and returns what was accepted; for building a backlog quickly.
 */
export async function sendBatches(opts: {
  apiUrl: string;
  apiKey: string;
  count: number;
  runId: string;
  parallel?: number;
}): Promise<Map<string, string | undefined>> {
  const recipients = new Recipients();
  const accepted = new Map<string, string | undefined>();
  let next = 0;
  async function lane() {
    while (next < opts.count) {
      const size = Math.min(1000, opts.count - next);
      const items = Array.from({ length: size }, (_, i) => ({
        to: recipients.next(),
        body: `load ${opts.runId} ${next + i + 1}`,
      }));
      next += size;
      const res = await fetch(`${opts.apiUrl}${PATHS.batch}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: items }),
      });
      if (!res.ok) throw new Error(`POST ${PATHS.batch} answered ${res.status}: ${await res.text()}`);
      const { results } = (await res.json()) as { results: ItemResult[] };
      results.forEach((r, i) => r.id && accepted.set(r.id, items[i]!.body));
    }
  }
  await Promise.all(Array.from({ length: opts.parallel ?? 2 }, lane));
  return accepted;
}
