import { isIP, connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: |\r|$)/;
// Only the headers that frame the body or the connection are read.
const CONNECTION = /\r\nconnection:[ \t]*([^\r]*)/i;
const KEEP_ALIVE = /\r\nkeep-alive:[ \t]*([^\r]*)/i;
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*([^\r]*)/i;
const TRANSFER_ENCODING = /\r\ntransfer-encoding:[ \t]*([^\r]*)/i;

function header(head: string, pattern: RegExp): string | undefined {
  return pattern.exec(head)?.[1]?.trimEnd();
}

/**
 * Reads one HTTP/1.1 response off a connection, framed as RFC 9112 §6.3 says: no body after 1xx/204/304, chunked,
 * Content-Length, or until the server closes. Works on latin1 text, one character per byte.
 */
class ResponseReader {
  status: number | null = null;
  /** Whether the connection can carry another request once this response is complete. */
  reusable = true;
  /** From `Keep-Alive: timeout=N`: how long the server keeps an idle connection open. */
  serverIdleMs: number | null = null;
  private buffer = '';
  private state: 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'trailers' | 'until-close' | 'done' = 'head';
  private remaining = 0;

  /** Takes the next bytes: 'done' once the response is complete, 'invalid' if they are not an HTTP/1.x response. */
  push(chunk: string): 'more' | 'done' | 'invalid' {
    this.buffer += chunk;
    for (;;) {
      switch (this.state) {
        case 'head': {
          const end = this.buffer.indexOf('\r\n\r\n');
          if (end < 0) return 'more';
          const head = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 4);
          if (!this.readHead(head)) return 'invalid';
          break;
        }
        case 'length': {
          const taken = Math.min(this.remaining, this.buffer.length);
          this.remaining -= taken;
          this.buffer = this.buffer.slice(taken);
          if (this.remaining > 0) return 'more';
          this.state = 'done';
          break;
        }
        case 'chunk-size': {
          const end = this.buffer.indexOf('\r\n');
          if (end < 0) return 'more';
          const size = Number.parseInt(this.buffer.slice(0, end), 16);
          if (Number.isNaN(size)) return 'invalid';
          this.buffer = this.buffer.slice(end + 2);
          this.remaining = size + 2; // the data and its CRLF
          this.state = size === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-data': {
          const taken = Math.min(this.remaining, this.buffer.length);
          this.remaining -= taken;
          this.buffer = this.buffer.slice(taken);
          if (this.remaining > 0) return 'more';
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          const end = this.buffer.indexOf('\r\n');
          if (end < 0) return 'more';
          this.buffer = this.buffer.slice(end + 2);
          if (end === 0) this.state = 'done';
          break;
        }
        case 'until-close':
          this.buffer = '';
          return 'more';
        case 'done':
          // Bytes after the response were never asked for: the connection is out of step.
          if (this.buffer.length > 0) this.reusable = false;
          return 'done';
      }
    }
  }

  private readHead(head: string): boolean {
    const statusLine = STATUS_LINE.exec(head);
    if (statusLine === null) return false;
    const status = Number(statusLine[2]);
    // Informational answers (e.g. 103 Early Hints) precede the real one.
    if (status < 200) return true;
    const connection = header(head, CONNECTION)?.toLowerCase() ?? '';
    this.reusable = statusLine[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    const idle = /timeout=(\d+)/i.exec(header(head, KEEP_ALIVE) ?? '');
    if (idle?.[1] !== undefined) this.serverIdleMs = Number(idle[1]) * 1000;
    this.status = status;
    const length = header(head, CONTENT_LENGTH);
    if (status === 204 || status === 304) {
      this.state = 'done';
    } else if (/chunked$/i.test(header(head, TRANSFER_ENCODING) ?? '')) {
      this.state = 'chunk-size';
    } else if (length !== undefined && /^\d+$/.test(length)) {
      this.remaining = Number(length);
      this.state = 'length';
    } else {
      this.state = 'until-close';
      this.reusable = false;
    }
    return true;
  }
}

interface Exchange {
  reader: ResponseReader;
  /** Called once: with the status when the response head arrives, or null if it never does. */
  answer: (status: number | null) => void;
  /** Called once the connection is done with this exchange, whatever the outcome. */
  finish: () => void;
}

/** One connection; it carries one exchange at a time. */
class Connection {
  private exchange: Exchange | null = null;

  constructor(
    readonly socket: Socket,
    private readonly onIdle: (connection: Connection, serverIdleMs: number | null) => void,
    private readonly onClose: (connection: Connection) => void,
  ) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.read(chunk));
    // 'close' follows every error, so failures are handled there.
    socket.on('error', () => undefined);
    // Only idle connections have a timeout set (see KeepAliveClient).
    socket.on('timeout', () => socket.destroy());
    socket.on('close', () => {
      const exchange = this.exchange;
      this.exchange = null;
      if (exchange !== null) {
        if (exchange.reader.status === null) exchange.answer(null);
        exchange.finish();
      }
      this.onClose(this);
    });
  }

  send(request: string, exchange: Exchange): void {
    this.exchange = exchange;
    this.socket.setTimeout(0);
    this.socket.ref();
    this.socket.write(request);
  }

  private read(chunk: string): void {
    const exchange = this.exchange;
    if (exchange === null) {
      // Nothing was asked: a server speaking out of turn cannot be trusted with the next request.
      this.socket.destroy();
      return;
    }
    const hadStatus = exchange.reader.status !== null;
    const progress = exchange.reader.push(chunk);
    if (progress === 'invalid') {
      this.socket.destroy();
      return;
    }
    if (!hadStatus && exchange.reader.status !== null) exchange.answer(exchange.reader.status);
    if (progress !== 'done') return;
    this.exchange = null;
    exchange.finish();
    if (exchange.reader.reusable) this.onIdle(this, exchange.reader.serverIdleMs);
    else this.socket.destroy();
  }
}

/** An idle connection goes this long before the server's advertised keep-alive timeout runs out, as node:http does. */
const IDLE_MARGIN_MS = 1000;

export interface KeepAliveClientOptions {
  /** Total time an exchange may take, connecting included. */
  timeoutMs: number;
  /** Registers an abort for an exchange in flight; returns the function that unregisters it. */
  trackAbort: (abort: () => void) => () => void;
}

/**
 * A minimal HTTP/1.1 client for form POSTs that only need the answer's status, keeping connections alive per
 * origin (http and https). Status callbacks are two of the sim's three HTTP exchanges per message: driven at
 * 350 messages/s, node:http's client cost ~60 µs more CPU per callback than this one (objects, streams and
 * events a status callback does not need), and fetch several times that.
 */
export class KeepAliveClient {
  private readonly idle = new Map<string, Connection[]>();
  private readonly open = new Set<Connection>();

  constructor(private readonly options: KeepAliveClientOptions) {}

  /** Resolves with the answer's status once its head arrives (the body is read and dropped), or null on failure. */
  post(url: URL, headers: Record<string, string>, body: string): Promise<number | null> {
    let request = `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n`;
    for (const name in headers) request += `${name}: ${headers[name]}\r\n`;
    request += `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve) => {
      const connection = this.connection(url);
      const abort = () => connection.socket.destroy();
      const timer = setTimeout(abort, this.options.timeoutMs);
      const untrack = this.options.trackAbort(abort);
      connection.send(request, {
        reader: new ResponseReader(),
        answer: resolve,
        finish: () => {
          clearTimeout(timer);
          untrack();
        },
      });
    });
  }

  /** Drops every connection, idle or busy. */
  close(): void {
    for (const connection of this.open) connection.socket.destroy();
  }

  private connection(url: URL): Connection {
    const key = `${url.protocol}//${url.host}`;
    const reusable = this.idle.get(key)?.pop();
    if (reusable !== undefined) return reusable;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const tls = url.protocol === 'https:';
    const port = Number(url.port) || (tls ? 443 : 80);
    const socket = tls
      ? connectTls({ host, port, servername: isIP(host) === 0 ? host : undefined, ALPNProtocols: ['http/1.1'] })
      : connectTcp({ host, port });
    const connection = new Connection(
      socket,
      (idle, serverIdleMs) => {
        // Unreferenced and timed out before the server drops it, like node:http's keep-alive agent.
        idle.socket.unref();
        if (serverIdleMs !== null) idle.socket.setTimeout(Math.max(serverIdleMs - IDLE_MARGIN_MS, 1));
        const list = this.idle.get(key);
        if (list === undefined) this.idle.set(key, [idle]);
        else list.push(idle);
      },
      (closed) => {
        this.open.delete(closed);
        const list = this.idle.get(key);
        const at = list?.indexOf(closed) ?? -1;
        if (list !== undefined && at >= 0) list.splice(at, 1);
        if (list?.length === 0) this.idle.delete(key);
      },
    );
    this.open.add(connection);
    return connection;
  }
}
