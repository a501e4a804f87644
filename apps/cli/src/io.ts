/** Where a run writes and what it reads: the real process in main.ts, buffers in tests. */
export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success: every check passed, the message was delivered
  1  a check failed, Twilio or the API refused, or the message was not delivered in time
  2  usage error: unknown command or option, missing or malformed argument
`;

/** Text for people by default; with --json, exactly one JSON object on stdout. */
export class Output {
  constructor(
    private readonly io: Io,
    readonly json: boolean,
  ) {}

  line(text = ''): void {
    if (!this.json) this.io.stdout.write(`${text}\n`);
  }

  /** A line for people that belongs on stderr (a failed check, a refusal). */
  problem(text: string): void {
    if (!this.json) this.io.stderr.write(`${text}\n`);
  }

  result(value: object): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }
}

/** Fixed-width columns for a small table. */
export function columns(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  '));
}
