import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fastCreateServer } from '../src/fast-create.js';
import { TaskRunner } from '../src/tasks.js';
import { ACCOUNT_SID, AUTH_TOKEN, BASIC_AUTH, FROM, type Harness, startSim } from './helpers/harness.js';

const CREATE_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const FORM = 'application/x-www-form-urlencoded';

describe('fastCreateServer', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('answers plain SDK creates itself and hands everything else to Fastify', async () => {
    const forms: unknown[] = [];
    let toFastify = 0;
    const factory = fastCreateServer({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      createMessage: async (form) => {
        forms.push({ ...form });
        return { httpStatus: 201, headers: { 'X-Test': 'yes' }, body: { ok: true } };
      },
      runner: new TaskRunner(() => undefined),
      onError: () => undefined,
    });
    server = factory(
      (_request, response) => {
        toFastify += 1;
        response.writeHead(299).end();
      },
      { bodyLimit: 1024 * 1024, keepAliveTimeout: 72_000, requestTimeout: 0, connectionTimeout: 0 },
    ) as Server;
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = (path: string, headers: Record<string, string>) =>
      fetch(`${base}${path}`, { method: 'POST', headers, body: 'To=%2B14155550123&Body=a+b&Body=c' });
    const plain = { authorization: BASIC_AUTH, 'content-type': FORM };

    const answer = await post(CREATE_PATH, plain);
    expect(answer.status).toBe(201);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('x-test')).toBe('yes');
    expect(await answer.json()).toEqual({ ok: true });
    expect(forms).toEqual([{ To: '+14155550123', Body: ['a b', 'c'] }]);
    expect(toFastify).toBe(0);

    const others = [
      post(`${CREATE_PATH}?x=1`, plain),
      post(CREATE_PATH.replace(ACCOUNT_SID, `AC${'0'.repeat(32)}`), plain),
      post(CREATE_PATH, { ...plain, authorization: `basic ${BASIC_AUTH.slice(6)}` }),
      post(CREATE_PATH, { ...plain, 'content-type': `${FORM}; charset=utf-8` }),
      post(CREATE_PATH, { ...plain, 'content-type': 'application/json' }),
      fetch(`${base}${CREATE_PATH}`, { headers: { authorization: BASIC_AUTH } }),
    ];
    expect((await Promise.all(others)).map((response) => response.status)).toEqual(others.map(() => 299));
    expect(toFastify).toBe(others.length);
  });
});

describe('the create fast path', () => {
  let h: Harness;
  afterEach(async () => h.sim.close());

  /** The same create through the fast path and, with a charset in its content type, through Fastify. */
  async function bothWays(form: Record<string, string>) {
    return Promise.all(
      [FORM, `${FORM}; charset=utf-8`].map(async (contentType) => {
        const response = await fetch(`${h.base}${CREATE_PATH}`, {
          method: 'POST',
          headers: { authorization: BASIC_AUTH, 'content-type': contentType },
          body: new URLSearchParams(form).toString(),
        });
        const body = (await response.json()) as Record<string, unknown>;
        for (const key of ['sid', 'uri', 'subresource_uris', 'date_created', 'date_updated']) {
          if (key in body) body[key] = typeof body[key];
        }
        return { status: response.status, type: response.headers.get('content-type'), body };
      }),
    );
  }

  it('answers creates and refusals exactly as the Fastify route does', async () => {
    h = await startSim();
    const [fast, viaFastify] = await bothWays({ To: '+14155550123', From: FROM, Body: 'héllo' });
    expect(fast).toMatchObject({ status: 201, body: { body: 'héllo', status: 'queued' } });
    expect(fast).toEqual(viaFastify);

    const [fastRefusal, fastifyRefusal] = await bothWays({ From: FROM, Body: 'x' });
    expect(fastRefusal).toMatchObject({ status: 400, body: { code: 21604 } });
    expect(fastRefusal).toEqual(fastifyRefusal);
    expect(h.sim.state.received.map((entry) => entry.refusal)).toEqual([null, null, 21604, 21604]);
  });
});
