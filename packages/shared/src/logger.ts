import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * Paths that may carry secrets, codes or full numbers. Messages and callbacks are logged by id; these
 * are the places where a careless log call would otherwise leak one.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-twilio-signature"]',
  'headers.authorization',
  'headers["x-twilio-signature"]',
  'authToken',
  'code',
  'body',
  'to',
  'from',
  'phone',
  '*.authToken',
  '*.code',
  '*.body',
  '*.to',
  '*.from',
  '*.phone',
  '*.To',
  '*.From',
  '*.Body',
];

export function loggerOptions(config: Pick<Config, 'logLevel' | 'nodeEnv'>, name: string): LoggerOptions {
  return {
    name,
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(config.nodeEnv === 'development' && process.stdout.isTTY
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  };
}

export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>, name: string): Logger {
  return pino(loggerOptions(config, name));
}
