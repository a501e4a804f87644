import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { buildSim, type Sim, type SimOptions } from '../../src/index.js';

export const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
export const AUTH_TOKEN = 'fedcba9876543210fedcba9876543210';
export const FROM = '+15005550006';
export const OWNED = '+14155550100';

/** Sends the SDK's requests to the sim instead of api.twilio.com; paths stay the same. */
class SimClient extends twilio.RequestClient {
  constructor(
    private readonly base: string,
    options?: RequestClient.RequestClientOptions,
  ) {
    super(options);
  }

  override request<TData>(options: RequestClient.RequestOptions<TData>) {
    options.uri = options.uri.replace('https://api.twilio.com', this.base);
    return super.request(options);
  }
}

interface HttpResult<T> {
  status: number;
  headers: Headers;
  body: T;
}

const BASIC_AUTH = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;

async function call<T>(url: string, init: RequestInit): Promise<HttpResult<T>> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

export interface Harness {
  sim: Sim;
  base: string;
  client: twilio.Twilio;
  /** Another SDK client against the same sim, e.g. with a short timeout or other credentials. */
  clientWith(options: { username?: string; password?: string; timeoutMs?: number }): twilio.Twilio;
  /** Raw authenticated call to a Twilio route, for what the SDK cannot send (e.g. a create without To). */
  api<T>(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<HttpResult<T>>;
  /** JSON call against the sim's /_sim control routes. */
  control<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpResult<T>>;
}

export async function startSim(options: Partial<SimOptions> = {}): Promise<Harness> {
  const sim = await buildSim({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    phoneNumbers: [FROM, OWNED],
    callbackDelayMs: 10,
    ...options,
  });
  const base = await sim.app.listen({ port: 0, host: '127.0.0.1' });
  const clientWith: Harness['clientWith'] = ({ username = ACCOUNT_SID, password = AUTH_TOKEN, timeoutMs }) =>
    twilio(username, password, { httpClient: new SimClient(base, timeoutMs ? { timeout: timeoutMs } : undefined) });
  return {
    sim,
    base,
    client: clientWith({}),
    clientWith,
    api<T>(method: 'GET' | 'POST', path: string, form?: Record<string, string>) {
      const headers: Record<string, string> = { authorization: BASIC_AUTH };
      if (form === undefined) return call<T>(`${base}${path}`, { method, headers });
      headers['content-type'] = 'application/x-www-form-urlencoded';
      return call<T>(`${base}${path}`, { method, headers, body: new URLSearchParams(form).toString() });
    },
    control<T>(method: 'GET' | 'POST', path: string, body?: unknown) {
      if (body === undefined) return call<T>(`${base}${path}`, { method });
      return call<T>(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the time runs out. */
export async function eventually<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs `promise` expecting a Twilio RestException and returns it. */
export async function restError(promise: Promise<unknown>): Promise<InstanceType<typeof twilio.RestException>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof twilio.RestException) return error;
    throw error;
  }
  throw new Error('expected a RestException');
}
