import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepAliveClient } from '../src/keep-alive-client.js';

const servers: Server[] = [];
let client: KeepAliveClient;
let aborts: Set<() => void>;

afterEach(async () => {
  client.close();
  for (const server of servers.splice(0)) {
    if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') {
      server.closeAllConnections();
    }
    await new Promise((resolve) => server.close(resolve));
  }
});

function newClient(timeoutMs = 2000): KeepAliveClient {
  aborts = new Set();
  client = new KeepAliveClient({
    timeoutMs,
    trackAbort: (abort) => {
      aborts.add(abort);
      return () => aborts.delete(abort);
    },
  });
  return client;
}

async function listen(server: Server): Promise<URL> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/status?x=1`);
}

/** An HTTP server that counts its connections and answers with `handle`. */
async function httpServer(handle: (request: IncomingMessage, body: string, response: ServerResponse) => void) {
  let connections = 0;
  const server = createHttpServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handle(request, body, response));
  });
  server.on('connection', () => (connections += 1));
  return { url: await listen(server), server, connections: () => connections };
}

/** A TCP server that answers every request on a connection with the same raw bytes. */
async function rawServer(answer: string, endAfter = false) {
  let connections = 0;
  const server = createTcpServer((socket: Socket) => {
    connections += 1;
    socket.on('data', () => (endAfter ? socket.end(answer) : socket.write(answer)));
  });
  return { url: await listen(server), connections: () => connections };
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('KeepAliveClient', () => {
  it('posts the form and reuses one connection for requests in turn', async () => {
    const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
    const target = await httpServer((request, body, response) => {
      seen.push({ method: request.method, url: request.url, headers: request.headers, body });
      response.writeHead(seen.length === 2 ? 500 : 204).end();
    });
    newClient();
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push(await client.post(target.url, FORM, `a=${i}&b=%2B1`));
    expect(statuses).toEqual([204, 500, 204]);
    expect(target.connections()).toBe(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/status?x=1', body: 'a=0&b=%2B1' });
    expect(seen[0]?.headers).toMatchObject({
      host: target.url.host,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': '10',
    });
    expect(aborts.size).toBe(0);
  });

  it('reads Content-Length and chunked bodies before reusing the connection', async () => {
    let n = 0;
    const target = await httpServer((_request, _body, response) => {
      n += 1;
      if (n % 2 === 0) {
        response.writeHead(200, { 'content-length': '5' }).end('hello');
        return;
      }
      response.writeHead(201);
      response.write('chunk one,');
      setTimeout(() => response.end(' chunk two'), 20);
    });
    newClient();
    for (let i = 0; i < 4; i += 1) {
      // The status comes with the head; the connection is free again once the rest of the body has arrived.
      expect(await client.post(target.url, FORM, 'a=1')).toBe(i % 2 === 0 ? 201 : 200);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(target.connections()).toBe(1);
  });

  it('opens a new connection after Connection: close or a body that ends with the connection', async () => {
    const closing = await rawServer('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    const untilClose = await rawServer('HTTP/1.1 200 OK\r\n\r\nthe body ends with the connection', true);
    newClient();
    for (const target of [closing, untilClose]) {
      expect(await client.post(target.url, FORM, 'a=1')).toBe(200);
      expect(await client.post(target.url, FORM, 'a=1')).toBe(200);
      expect(target.connections()).toBe(2);
    }
  });

  it('skips informational answers', async () => {
    const target = await rawServer(
      'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n',
    );
    newClient();
    expect(await client.post(target.url, FORM, 'a=1')).toBe(202);
  });

  it('drops an idle connection before the server says it will', async () => {
    const target = await httpServer((_request, _body, response) => response.writeHead(204).end());
    (servers.at(-1) as ReturnType<typeof createHttpServer>).keepAliveTimeout = 2000;
    newClient();
    expect(await client.post(target.url, FORM, 'a=1')).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await client.post(target.url, FORM, 'a=1')).toBe(204);
    expect(target.connections()).toBe(2);
  });

  it('answers null for no HTTP answer, no connection, a timeout or an abort', async () => {
    const garbage = await rawServer('SSH-2.0-OpenSSH\r\n\r\n');
    const silent = await rawServer('');
    const gone = await rawServer('');
    servers.pop()?.close();
    newClient(300);
    expect(await client.post(garbage.url, FORM, 'a=1')).toBeNull();
    expect(await client.post(gone.url, FORM, 'a=1')).toBeNull();
    const started = Date.now();
    expect(await client.post(silent.url, FORM, 'a=1')).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    client.close();
    newClient(10_000);
    const pending = client.post(silent.url, FORM, 'a=1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const abort of aborts) abort();
    expect(await pending).toBeNull();
    expect(aborts.size).toBe(0);
  });
});
