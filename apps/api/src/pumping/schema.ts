import { Nullable } from '../common-schema.js';
import { Type, type Static } from '@sinclair/typebox';

const EXAMPLE_BLOCK = {
  id: '7',
  prefix: '232760',
  reason: 'suspected SMS pumping: 48.0 OTP sends to +232760… in the last 10 min against a baseline of 1.2',
  observed: 48,
  baseline: 1.2,
  blockedUntil: '2026-11-21T11:00:00.000Z',
  liftedAt: null,
  liftedBy: null,
  createdAt: '2026-11-21T10:00:00.000Z',
  active: true,
};

export const PrefixBlockView = Type.Object(
  {
    id: Type.String({ description: 'decimal id' }),
    prefix: Type.String({ description: 'E.164 digits without "+": country calling code and leading digits' }),
    reason: Type.String(),
    observed: Type.Integer({ description: 'OTP sends in the window that tripped the guard' }),
    baseline: Type.Number({ description: "the prefix's mean sends per window before it" }),
    blockedUntil: Type.String({ format: 'date-time' }),
    liftedAt: Nullable(Type.String({ format: 'date-time' })),
    liftedBy: Nullable(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    active: Type.Boolean(),
  },
  { examples: [EXAMPLE_BLOCK] },
);

export const PrefixBlockList = Type.Object(
  { blocks: Type.Array(PrefixBlockView) },
  { examples: [{ blocks: [EXAMPLE_BLOCK] }] },
);

export const ListBlocksQuery = Type.Object(
  {
    active: Type.Boolean({ default: false, description: 'only blocks in force' }),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  },
  { additionalProperties: false },
);
export type ListBlocksQuery = Static<typeof ListBlocksQuery>;

export const CreateBlockBody = Type.Object(
  {
    prefix: Type.String({ pattern: '^\\+?[1-9][0-9]{0,14}$', examples: ['23276'] }),
    seconds: Type.Integer({ minimum: 60, maximum: 7 * 86_400 }),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type CreateBlockBody = Static<typeof CreateBlockBody>;

// Up to 18 digits: every such id fits a Postgres bigint, so a huge id is a plain 404, not a store error.
export const BlockIdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,17}$' }) });
