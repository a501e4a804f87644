import { ApiClient, type ApiOptions } from '../api-client.js';
import { EXIT, columns, type Io, type Output } from '../io.js';

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  description: string | null;
}

export const DELIVERY_STATES = ['pending', 'failed', 'succeeded', 'dead'] as const;

interface Delivery {
  id: string;
  type: string;
  state: (typeof DELIVERY_STATES)[number];
  attempts: number;
  lastResponseStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

export interface TestWebhookOptions extends ApiOptions {
  timeout: number;
}

export interface DeliveriesOptions extends ApiOptions {
  status?: Delivery['state'];
  limit?: number;
}

export interface ReplayOptions extends ApiOptions {
  since: string;
  until?: string;
}

const POLL_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const endpointPath = (id: string) => `/v1/webhook-endpoints/${encodeURIComponent(id)}`;

/** What the last attempt got: the receiver's HTTP status, or why there was none (timeout, refused, …). */
const lastOutcome = (d: Delivery) =>
  d.lastResponseStatus !== null ? `HTTP ${d.lastResponseStatus}` : (d.lastError ?? '-');

export async function listWebhooks(io: Io, out: Output, opts: ApiOptions): Promise<number> {
  const { items } = await ApiClient.from(opts, io.env).get<{ items: Endpoint[] }>('/v1/webhook-endpoints');
  const rows = items.map((e) => [
    e.id,
    e.enabled ? 'enabled' : `disabled${e.disabledReason ? ` (${e.disabledReason})` : ''}`,
    e.url,
    e.events.join(','),
  ]);
  for (const line of columns([['ID', 'STATE', 'URL', 'EVENTS'], ...rows])) out.line(line);
  out.result({ ok: true, endpoints: items });
  return EXIT.ok;
}

/** Sends a webhook.test event, then waits for its first attempt: 0 when the endpoint answered 2xx. */
export async function testWebhook(io: Io, out: Output, endpointId: string, opts: TestWebhookOptions): Promise<number> {
  const api = ApiClient.from(opts, io.env);
  const { deliveryId } = await api.post<{ deliveryId: string }>(`${endpointPath(endpointId)}/test`, {});
  out.line(`Queued webhook.test delivery ${deliveryId}.`);
  const deadline = Date.now() + opts.timeout * 1000;
  let delivery: Delivery;
  for (;;) {
    delivery = await api.get<Delivery>(`${endpointPath(endpointId)}/deliveries/${deliveryId}`);
    if (delivery.state !== 'pending' || Date.now() >= deadline) break;
    await sleep(Math.min(POLL_MS, deadline - Date.now()));
  }
  const ok = delivery.state === 'succeeded';
  if (ok) out.line(`Delivered: the endpoint answered ${lastOutcome(delivery)}.`);
  else if (delivery.state === 'pending') {
    out.problem(`Not attempted after ${opts.timeout} s: is a worker running?`);
  } else {
    const retry = delivery.nextAttemptAt ? `; retrying at ${delivery.nextAttemptAt}` : '';
    out.problem(`Not delivered: ${lastOutcome(delivery)}${retry}.`);
  }
  out.result({ ok, delivery });
  return ok ? EXIT.ok : EXIT.failed;
}

export async function listDeliveries(
  io: Io,
  out: Output,
  endpointId: string,
  opts: DeliveriesOptions,
): Promise<number> {
  const query = new URLSearchParams({
    ...(opts.status ? { status: opts.status } : {}),
    ...(opts.limit ? { limit: String(opts.limit) } : {}),
  });
  const { items } = await ApiClient.from(opts, io.env).get<{ items: Delivery[] }>(
    `${endpointPath(endpointId)}/deliveries${query.size > 0 ? `?${query}` : ''}`,
  );
  const rows = items.map((d) => [d.id, d.type, d.state, String(d.attempts), lastOutcome(d), d.createdAt]);
  for (const line of columns([['ID', 'TYPE', 'STATE', 'ATTEMPTS', 'LAST', 'CREATED'], ...rows])) out.line(line);
  out.result({ ok: true, deliveries: items });
  return EXIT.ok;
}

/** Sends the endpoint's dead deliveries created in the range again, each with a fresh set of retries. */
export async function replayDead(io: Io, out: Output, endpointId: string, opts: ReplayOptions): Promise<number> {
  const { replayed } = await ApiClient.from(opts, io.env).post<{ replayed: number }>(
    `${endpointPath(endpointId)}/deliveries/replay`,
    { since: opts.since, ...(opts.until === undefined ? {} : { until: opts.until }) },
  );
  out.line(`Replaying ${replayed} dead ${replayed === 1 ? 'delivery' : 'deliveries'}.`);
  out.result({ ok: true, replayed });
  return EXIT.ok;
}
