import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestException, classifySendError, createTwilioClient, withRetryAfter, type Config } from '../src/index.js';

// The twilio SDK over its undici HTTP layer (twilio-http.ts), against a plain HTTP server that records
// what arrives: the wire format the SDK's default client would send, and the answers it must survive.
const SID = `AC${'0'.repeat(32)}`;
const TOKEN = 'secret-token';
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
const seen: Seen[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let base: string;

const message = {
  sid: `SM${'1'.repeat(32)}`,
  account_sid: SID,
  to: '+14155552671',
  from: '+15005550006',
  body: 'hi',
  status: 'queued',
  num_segments: '1',
  date_created: 'Sat, 21 Nov 2026 10:00:00 +0000',
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      answer(req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = (apiBaseUrl = base, timeoutMs = 2000) =>
  createTwilioClient({ accountSid: SID, authToken: TOKEN, apiBaseUrl, timeoutMs } as Config['twilio']);
const json = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('the Twilio HTTP layer (undici under the SDK)', () => {
  it('sends a create as the SDK builds it (form, Basic auth, user agent) and reads the answer', async () => {
    seen.length = 0;
    answer = (_req, res) => json(res, 201, message);
    const sent = await client().messages.create({
      to: '+14155552671',
      from: '+15005550006',
      body: 'hi & bye = 100%',
      statusCallback: 'https://example.com/cb?mid=1',
      validityPeriod: 60,
    });
    expect(sent.sid).toBe(message.sid);
    expect(sent.numSegments).toBe('1');
    const [req] = seen;
    expect(req).toMatchObject({ method: 'POST', url: `/2010-04-01/Accounts/${SID}/Messages.json` });
    expect(req!.headers.authorization).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req!.headers['user-agent']).toMatch(/^twilio-node\//);
    expect(Object.fromEntries(new URLSearchParams(req!.body))).toEqual({
      To: '+14155552671',
      From: '+15005550006',
      Body: 'hi & bye = 100%',
      StatusCallback: 'https://example.com/cb?mid=1',
      ValidityPeriod: '60',
    });
  });

  it('repeats a list field, as Twilio expects, and puts a GET’s parameters in the query', async () => {
    seen.length = 0;
    answer = (_req, res) => json(res, 201, message);
    await client().messages.create({
      to: '+14155552671',
      from: '+15005550006',
      mediaUrl: ['https://a/1', 'https://a/2'],
    });
    expect(new URLSearchParams(seen[0]!.body).getAll('MediaUrl')).toEqual(['https://a/1', 'https://a/2']);

    answer = (_req, res) =>
      json(res, 200, { messages: [message], next_page_uri: null, page: 0, page_size: 5, uri: '/x' });
    const listed = await client().messages.list({ to: '+14155552671', limit: 5 });
    expect(listed.map((m) => m.sid)).toEqual([message.sid]);
    const url = new URL(seen[1]!.url, base);
    expect(url.pathname).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ To: '+14155552671', PageSize: '5' });
  });

  it("turns an error answer into the SDK's RestException, with Twilio's Retry-After on it", async () => {
    answer = (_req, res) =>
      json(res, 429, { code: 20429, message: 'Too Many Requests', status: 429 }, { 'retry-after': '7' });
    const err = await withRetryAfter(() => client().messages.create({ to: '+14155552671', body: 'x' })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RestException);
    expect(err).toMatchObject({ status: 429, code: 20429, retryAfterMs: 7000 });
    expect(classifySendError(err)).toMatchObject({ kind: 'transient', slowDown: 'account', retryAfterMs: 7000 });
  });

  it('does not follow a redirect (like the SDK’s own client): the 3xx is the answer', async () => {
    seen.length = 0;
    answer = (_req, res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    };
    await expect(client().messages.create({ to: '+14155552671', body: 'x' })).rejects.toBeInstanceOf(RestException);
    expect(seen).toHaveLength(1);
  });

  it('gives up on a silent server after the timeout: ambiguous, so the worker looks before resending', async () => {
    answer = () => undefined; // never answers
    const started = Date.now();
    const err = await client(base, 300)
      .messages.create({ to: '+14155552671', body: 'x' })
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(classifySendError(err).kind).toBe('ambiguous');
  });

  it('a refused connection certainly sent nothing: transient', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await client(`http://127.0.0.1:${port}`)
      .messages.create({ to: '+14155552671', body: 'x' })
      .catch((e: unknown) => e);
    expect(classifySendError(err).kind).toBe('transient');
  });
});
