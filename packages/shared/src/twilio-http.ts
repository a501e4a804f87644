import { readFileSync } from 'node:fs';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { noteRetryAfter } from './rate-limit/retry-after.js';

const TWILIO_API = 'https://api.twilio.com';

/** Form fields as Twilio takes them: a list is the field repeated (the SDK's `arrayFormat: "repeat"`). */
function formOf(data: object): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) form.append(key, String(v));
  }
  return form.toString();
}

/** Keep-alive connections to any origin; through the proxy of HTTP_PROXY / HTTPS_PROXY when one is set. */
function dispatcherFor(timeoutMs: number): Dispatcher {
  const caPath = process.env.TWILIO_CA_BUNDLE;
  const connect = { timeout: timeoutMs, ...(caPath ? { ca: readFileSync(caPath) } : {}) };
  return process.env.HTTPS_PROXY || process.env.HTTP_PROXY || process.env.https_proxy || process.env.http_proxy
    ? new EnvHttpProxyAgent({ connect })
    : new Agent({ connect, keepAliveTimeout: 30_000 });
}

/**
 * The twilio SDK's HTTP layer on undici instead of axios: the SDK still builds every request (URL,
 * form, auth headers) and reads every answer (RestException, paging), through its documented `httpClient`
 * option. axios cost ~300 µs of CPU per `messages.create` on this machine, undici ~90 (the worker's share
 * of the drain was a fifth axios). Like the SDK's default client it does not follow redirects and
 * answers every status (the SDK turns 4xx/5xx into RestException). It also notes Twilio's Retry-After,
 * which RestException drops, for `withRetryAfter`, and can send everything to another base URL (the
 * simulator, a proxy): the SDK has no base-URL option for the 2010 API.
 */
export class TwilioHttpClient extends twilio.RequestClient {
  private readonly dispatcher: Dispatcher;

  constructor(
    private readonly timeoutMs: number,
    private readonly baseUrl?: string,
  ) {
    super({ timeout: timeoutMs, keepAlive: true });
    this.dispatcher = dispatcherFor(timeoutMs);
  }

  override async request<TData>(
    opts: RequestClient.RequestOptions<TData>,
  ): Promise<{ statusCode: number; body: TData; headers: unknown }> {
    const uri = new URL(this.baseUrl ? opts.uri.replace(TWILIO_API, this.baseUrl) : opts.uri);
    if (opts.params) {
      for (const [key, value] of new URLSearchParams(formOf(opts.params))) uri.searchParams.append(key, value);
    }
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string> | undefined) };
    if (opts.username && opts.password) {
      headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    } else if (opts.authStrategy) {
      headers.Authorization = await opts.authStrategy.getAuthString();
    }
    let body: string | undefined;
    if (opts.data) {
      const type = headers['Content-Type'];
      body = type === 'application/json' ? JSON.stringify(opts.data) : formOf(opts.data);
    }
    const timeout = opts.timeout ?? this.timeoutMs;
    const res = await this.dispatcher.request({
      origin: uri.origin,
      path: uri.pathname + uri.search,
      method: opts.method.toUpperCase() as Dispatcher.HttpMethod,
      headers,
      body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) noteRetryAfter(res.headers['retry-after']);
    // The SDK parses a string body itself (JSON, or RestException for an error).
    return { statusCode: res.statusCode, body: text as TData, headers: res.headers };
  }

  /** Closes the kept-alive connections (for a process that ends, or a test). */
  close(): Promise<void> {
    return this.dispatcher.close();
  }
}
