import { Failure, networkReason, usageError } from './failure.js';
import { EXIT, type Io } from './io.js';

export interface ApiOptions {
  apiUrl?: string;
  apiKey?: string;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** The smsq HTTP API, as a calling service sees it: bearer key, JSON, `{error: {code, message}}` on refusal. */
export class ApiClient {
  private constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** Flags win over SMSQ_API_URL / SMSQ_API_KEY. */
  static from(opts: ApiOptions, env: Io['env']): ApiClient {
    const apiKey = opts.apiKey ?? env.SMSQ_API_KEY;
    if (!apiKey) throw usageError('an API key is needed: pass --api-key or set SMSQ_API_KEY');
    const baseUrl = (opts.apiUrl ?? env.SMSQ_API_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
    return new ApiClient(baseUrl, apiKey);
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: object): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  private async request<T>(method: string, path: string, body?: object): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new Failure(`cannot reach the API at ${this.baseUrl}: ${networkReason(err)}`);
    }
    const payload: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const { error } = (payload ?? {}) as { error?: { code?: string; message?: string; field?: string } };
      const code = error?.code ?? 'error';
      throw new Failure(`the API answered ${res.status} ${code}: ${error?.message ?? res.statusText}`, EXIT.failed, {
        status: res.status,
        code,
        ...(error?.field ? { field: error.field } : {}),
      });
    }
    return payload as T;
  }
}
