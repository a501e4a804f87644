import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { isPublicAddress } from '@smsq/shared';
import { Agent, request } from 'undici';

/** What one POST to an endpoint came to. */
export interface PostResult {
  /** The HTTP status, when a response came. */
  status: number | undefined;
  /** Why no response came (timeout, refused, a non-public address), or undefined. */
  error: string | undefined;
  latencyMs: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * DNS as net.connect asks it, refusing names that resolve to a non-public address. Checked at every
 * connection, on the address actually dialled, so a name re-pointed after registration (DNS rebinding)
 * still cannot reach loopback, private ranges or cloud metadata.
 */
function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    if (addresses.length === 0 || !addresses.every((a) => isPublicAddress(a.address))) {
      const refused = new Error(`${hostname} resolves to a non-public address`) as NodeJS.ErrnoException;
      refused.code = 'EADDRNOTALLOWED';
      return callback(refused, []);
    }
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/**
 * POSTs webhook events: no redirects followed (undici's request never follows them), at most
 * `timeoutMs` for the whole exchange, at most 64 KiB of a response read.
 */
export class WebhookPoster {
  private readonly agent: Agent;

  constructor(private readonly opts: { timeoutMs: number; allowPrivate: boolean }) {
    this.agent = new Agent({
      connect: opts.allowPrivate ? {} : { lookup: publicOnlyLookup },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<PostResult> {
    const started = performance.now();
    const done = (status: number | undefined, error: string | undefined): PostResult => ({
      status,
      error,
      latencyMs: Math.round(performance.now() - started),
    });
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    // An address literal is dialled without a lookup, so it is judged here.
    if (!this.opts.allowPrivate && isIP(host) && !isPublicAddress(host)) {
      return done(undefined, 'EADDRNOTALLOWED: a non-public address');
    }
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'smsq-webhooks/1', ...headers },
        body,
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      let read = 0;
      for await (const chunk of res.body) {
        read += (chunk as Buffer).length;
        if (read >= MAX_RESPONSE_BYTES) {
          res.body.destroy();
          break;
        }
      }
      return done(res.statusCode, undefined);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      // A network error carries a code (ECONNREFUSED); the timeout's abort, a name (TimeoutError).
      const code = e.cause?.code ?? (typeof e.code === 'string' ? e.code : e.name);
      return done(undefined, `${code}: ${(e.cause?.message ?? e.message).slice(0, 200)}`);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
