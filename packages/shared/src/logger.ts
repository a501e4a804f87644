import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config.js';
import { maskPhone } from './phone.js';

export type { Logger };

/**
 * Paths that may carry secrets, codes or full numbers. Messages and callbacks are logged by id; these
 * are the places where a careless log call would otherwise leak one.
 */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-twilio-signature"]',
  'headers.authorization',
  'headers["x-twilio-signature"]',
  'authToken',
  'password',
  'otpSecret',
  'code',
  'body',
  'to',
  'from',
  'phone',
  '*.authToken',
  '*.password',
  '*.otpSecret',
  '*.code',
  '*.body',
  '*.to',
  '*.from',
  '*.phone',
  '*.To',
  '*.From',
  '*.Body',
];

const PHONE_FIELDS = new Set(['to', 'from', 'phone', 'To', 'From']);

/** A number keeps its last four digits, so a line can still be matched to a message; the rest goes. */
function censor(value: unknown, path: string[]): string {
  return typeof value === 'string' && PHONE_FIELDS.has(path.at(-1)!) ? maskPhone(value) : '[redacted]';
}

/** E.164 numbers, also URL-encoded (`%2B1415…` in a logged query string). */
const PHONE_IN_TEXT = /(?:\+|%2B)[1-9]\d{6,14}/gi;

/**
 * The last line of defence behind the redact paths: a number that reaches a log line anyway (inside an
 * error message from Twilio, a query string, a stack) is masked in the finished line.
 */
const maskPhonesInLine = (line: string) => line.replace(PHONE_IN_TEXT, (m) => maskPhone(m.replace(/^%2B/i, '+')));

/** Pretty output is for a person at a terminal in development; everywhere else one JSON object per line. */
function loggerOptions(
  config: Pick<Config, 'logLevel' | 'nodeEnv'>,
  name: string,
  pretty = config.nodeEnv === 'development' && process.stdout.isTTY,
): LoggerOptions {
  return {
    name,
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor },
    hooks: { streamWrite: maskPhonesInLine },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  };
}

/** `destination` (tests capture logs with it) replaces stdout and pretty output. */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'nodeEnv'>,
  name: string,
  destination?: DestinationStream,
): Logger {
  return destination ? pino(loggerOptions(config, name, false), destination) : pino(loggerOptions(config, name));
}

/**
 * A logger for lines whose every field the caller builds from known-safe values (the API's access line:
 * method, URL, status, ids, counts): the same name, level, destination and phone masking as `logger`, but
 * without the redact paths, which cloned and walked each line (a quarter of the bytes the API allocated
 * per request). Never give it a body, a code or a header.
 */
export function unredactedSibling(logger: Logger, name: string): Logger {
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
  return pino({ name, level: logger.level, hooks: { streamWrite: maskPhonesInLine } }, stream);
}
