import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

interface ReceivedCallback {
  /** The full URL the sim requested, as Twilio signs it. */
  url: string;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
}

/** A tiny HTTP server standing in for the app's status-callback endpoint. */
export interface CallbackServer {
  url: string;
  received: ReceivedCallback[];
  /** Status codes for the next requests, in order; after that it answers 204. */
  respondWith: number[];
  close(): Promise<void>;
}

export async function startCallbackServer(): Promise<CallbackServer> {
  const received: ReceivedCallback[] = [];
  const respondWith: number[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const { port } = server.address() as AddressInfo;
      received.push({
        url: `http://127.0.0.1:${port}${request.url ?? ''}`,
        headers: request.headers,
        params: Object.fromEntries(new URLSearchParams(body)),
      });
      response.writeHead(respondWith.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    respondWith,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
