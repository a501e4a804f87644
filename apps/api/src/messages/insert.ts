import { Prisma, type PrismaClient } from '@smsq/shared';

export type MessageRow = Prisma.MessageCreateManyInput;
type Row = MessageRow;

/** Every field messageRow() fills, with its column and the Postgres array type its values travel as. */
const COLUMNS: readonly [keyof Row, string, string][] = [
  ['id', 'id', 'uuid'],
  ['to', '"to"', 'text'],
  ['country', 'country', 'text'],
  ['userId', 'user_id', 'text'],
  ['body', 'body', 'text'],
  ['sealedBody', 'sealed_body', 'text'],
  ['category', 'category', '"Category"'],
  ['template', 'template', 'text'],
  ['segments', 'segments', 'int'],
  ['encoding', 'encoding', 'text'],
  ['metadata', 'metadata', 'jsonb'],
  ['apiKey', 'api_key', 'text'],
  ['createdAt', 'created_at', 'timestamptz'],
  ['updatedAt', 'updated_at', 'timestamptz'],
  ['expiresAt', 'expires_at', 'timestamptz'],
  ['sendAt', 'send_at', 'timestamptz'],
];
const KNOWN = new Set<string>(COLUMNS.map(([field]) => field));

const placeholders = (from: number, types: string[]) => types.map((t, i) => `$${from + i}::${t}[]`).join(', ');
const KEY_TYPES = ['text', 'text', 'text', 'uuid', 'timestamptz'];

/**
 * One statement, whatever the number of rows: the messages, their `queued` events and (when given)
 * their Idempotency-Keys, each column sent as one array and spread by unnest. Constant SQL with a
 * fixed number of parameters, so Postgres and Prisma do the same small amount of work for 1 row or
 * 1000 (createMany builds and binds one parameter per value). One statement is one transaction: all
 * rows or none.
 */
const SQL = `
WITH m AS (
  INSERT INTO messages (${COLUMNS.map(([, column]) => column).join(', ')})
  SELECT * FROM unnest(${placeholders(
    1,
    COLUMNS.map(([, , type]) => type),
  )})
  RETURNING id, created_at
), e AS (
  INSERT INTO message_events (message_id, status, source, at) SELECT id, 'queued', 'api', created_at FROM m
)
INSERT INTO idempotency_keys (api_key, key, body_hash, message_id, created_at)
SELECT * FROM unnest(${placeholders(COLUMNS.length + 1, KEY_TYPES)})`;

export interface IdempotencyRow {
  apiKey: string;
  key: string;
  bodyHash: string;
  messageId: string;
  createdAt: Date;
}

function columnValues(rows: Row[], field: keyof Row): unknown[] {
  return rows.map((r) => {
    const v = r[field];
    if (v === undefined || v === null) return null;
    if (v instanceof Date) return v.toISOString();
    if (field === 'metadata') return JSON.stringify(v);
    return v;
  });
}

/** Inserts messages with their `queued` events (and Idempotency-Keys) in one statement. */
export async function insertMessages(
  prisma: Pick<PrismaClient, '$executeRawUnsafe'>,
  rows: Row[],
  keys: IdempotencyRow[] = [],
): Promise<void> {
  for (const field of Object.keys(rows[0] ?? {})) {
    // A field added to messageRow() must get its column here too, or it would be dropped silently.
    if (!KNOWN.has(field)) throw new Error(`insertMessages: no column for message field "${field}"`);
  }
  await prisma.$executeRawUnsafe(
    SQL,
    ...COLUMNS.map(([field]) => columnValues(rows, field)),
    keys.map((k) => k.apiKey),
    keys.map((k) => k.key),
    keys.map((k) => k.bodyHash),
    keys.map((k) => k.messageId),
    keys.map((k) => k.createdAt.toISOString()),
  );
}

/** A duplicate key: Prisma's P2002, or, from a raw statement such as insertMessages, P2010 carrying 23505. */
export function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  const meta = err.meta as { driverAdapterError?: { cause?: { originalCode?: string } } } | undefined;
  return err.code === 'P2002' || meta?.driverAdapterError?.cause?.originalCode === '23505';
}
