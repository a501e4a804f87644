import { EXIT } from './io.js';

/** An expected way for a command to fail: its message is the plain reason shown to the user. */
export class Failure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
    /** Machine-readable facts for --json (an API error code, an HTTP status). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'Failure';
  }
}

export const usageError = (message: string) => new Failure(message, EXIT.usage);

/** The innermost reason of a network error (fetch hides it in `cause`). */
export function networkReason(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown; code?: unknown } };
  const inner = e.cause?.message || e.cause?.code || e.message;
  return typeof inner === 'string' && inner ? inner : String(err);
}
