import { readFileSync } from 'node:fs';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Dispatcher } from 'undici';
import { noteRetryAfter } from './retry-after.js';

const TWILIO_API = 'https://api.twilio.com';
/** Sockets per origin, as the SDK's own agent allows (Twilio also counts concurrent requests per account). */
const MAX_SOCKETS = 20;

/**
 * Adds fields to a query or a form as Twilio takes them: a list is the field repeated (the SDK's
 * `arrayFormat: "repeat"`), null is empty.
 */
function appendFields(target: URLSearchParams, data: object): URLSearchParams {
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) target.append(key, v === null ? '' : String(v));
  }
  return target;
}

interface Dispatchers {
  direct: Dispatcher;
  /** HTTPS through HTTPS_PROXY or HTTP_PROXY, when one is set (the SDK's client proxies HTTPS only). */
  proxied: Dispatcher | undefined;
}

/** undici is loaded with the first request: a process that never calls Twilio (the API) does not hold it. */
async function dispatchersFor(timeoutMs: number): Promise<Dispatchers> {
  const { Agent, ProxyAgent } = await import('undici');
  const caPath = process.env.TWILIO_CA_BUNDLE;
  const ca = caPath ? readFileSync(caPath) : undefined;
  const tls = { timeout: timeoutMs, ...(ca ? { ca } : {}) };
  const proxy = process.env.HTTPS_PROXY ?? process.env.https_proxy ?? process.env.HTTP_PROXY ?? process.env.http_proxy;
  return {
    direct: new Agent({ connect: tls, connections: MAX_SOCKETS }),
    proxied: proxy ? new ProxyAgent({ uri: proxy, requestTls: tls, connections: MAX_SOCKETS }) : undefined,
  };
}

/**
 * The twilio SDK's HTTP layer on undici instead of axios: the SDK still builds every request (URL, form,
 * auth headers) and reads every answer (RestException, paging), through its documented `httpClient`
 * option. axios cost ~300 µs of CPU per `messages.create` on this machine, undici ~90 (the worker's share
 * of the drain was a fifth axios). Like the SDK's default client it does not follow redirects, answers
 * every status (the SDK turns 4xx/5xx into RestException), and gives each call one deadline, the Twilio
 * timeout, for connecting, sending and reading alike. It also notes Twilio's Retry-After, which
 * RestException drops, for `withRetryAfter`, and can send everything to another base URL (the simulator,
 * a proxy): the SDK has no base-URL option for the 2010 API. (The base class still builds an axios
 * instance, unused: it is what the SDK's `httpClient` option is typed as.)
 */
export class TwilioHttpClient extends twilio.RequestClient {
  private dispatchers: Promise<Dispatchers> | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly baseUrl?: string,
  ) {
    super({ timeout: timeoutMs, keepAlive: true });
  }

  /**
   * Loads undici and builds the agents now rather than in the first request. A worker calls it before it
   * takes its first send slot: loaded lazily, the import fell between a granted slot and its request and
   * put a fresh worker's first sends 150–260 ms late, onto the slots of the sends after them.
   */
  async warmUp(): Promise<void> {
    await (this.dispatchers ??= dispatchersFor(this.timeoutMs));
  }

  override async request<TData>(
    opts: RequestClient.RequestOptions<TData>,
  ): Promise<{ statusCode: number; body: TData; headers: unknown }> {
    const uri = new URL(this.baseUrl ? opts.uri.replace(TWILIO_API, this.baseUrl) : opts.uri);
    if (opts.params) appendFields(uri.searchParams, opts.params);
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string> | undefined) };
    if (opts.username && opts.password) {
      headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    } else if (opts.authStrategy) {
      headers.Authorization = await opts.authStrategy.getAuthString();
    }
    let body: string | undefined;
    if (opts.data) {
      body =
        headers['Content-Type'] === 'application/json'
          ? JSON.stringify(opts.data)
          : appendFields(new URLSearchParams(), opts.data).toString();
    }
    const { direct, proxied } = await (this.dispatchers ??= dispatchersFor(this.timeoutMs));
    const dispatcher = uri.protocol === 'https:' && proxied ? proxied : direct;
    const res = await dispatcher.request({
      origin: uri.origin,
      path: uri.pathname + uri.search,
      method: opts.method.toUpperCase() as Dispatcher.HttpMethod,
      headers,
      body,
      signal: AbortSignal.timeout(opts.timeout ?? this.timeoutMs),
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) noteRetryAfter(res.headers['retry-after']);
    // The SDK parses a string body itself (JSON, or RestException for an error).
    return { statusCode: res.statusCode, body: text as TData, headers: res.headers };
  }
}
