import { Nullable } from '../common-schema.js';
import { Type, type Static } from '@sinclair/typebox';
import { KEY_TYPES, SCOPES } from './key-format.js';

// No ':' (API_KEYS' separator) and no '#' (test traffic's idempotency owner): letters, digits, . _ -
const ServiceName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', examples: ['password-reset'] });
const DailySegmentLimit = Type.Integer({
  minimum: 1,
  maximum: 1_000_000_000,
  description: 'Segments per UTC day (live traffic, OTPs included); past it 429 budget_exceeded',
});
const From = Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$', description: "The service's own sender number (E.164)" });
const MessagingServiceSid = Type.String({ pattern: '^MG[0-9a-fA-F]{32}$' });
const Scope = Type.Union(SCOPES.map((s) => Type.Literal(s)));
const KeyType = Type.Union(KEY_TYPES.map((t) => Type.Literal(t)));

export const ServiceIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const KeyIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });

export const CreateServiceBody = Type.Object(
  {
    name: ServiceName,
    dailySegmentLimit: Type.Optional(DailySegmentLimit),
    from: Type.Optional(From),
    messagingServiceSid: Type.Optional(MessagingServiceSid),
  },
  { additionalProperties: false },
);
export type CreateServiceBody = Static<typeof CreateServiceBody>;

export const UpdateServiceBody = Type.Object(
  {
    dailySegmentLimit: Type.Optional(Nullable(DailySegmentLimit)),
    from: Type.Optional(Nullable(From)),
    messagingServiceSid: Type.Optional(Nullable(MessagingServiceSid)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateServiceBody = Static<typeof UpdateServiceBody>;

const SERVICE_EXAMPLE = {
  id: '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6c',
  name: 'password-reset',
  dailySegmentLimit: 50000,
  from: null,
  messagingServiceSid: null,
  createdAt: '2026-12-07T10:00:00.000Z',
};
export const ServiceView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    dailySegmentLimit: Nullable(Type.Integer()),
    from: Nullable(Type.String()),
    messagingServiceSid: Nullable(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { examples: [SERVICE_EXAMPLE] },
);
export const ServiceList = Type.Object(
  { items: Type.Array(ServiceView) },
  { examples: [{ items: [SERVICE_EXAMPLE] }] },
);

export const CreateKeyBody = Type.Object(
  {
    type: KeyType,
    scopes: Type.Array(Scope, { minItems: 1, uniqueItems: true }),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
    description: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type CreateKeyBody = Static<typeof CreateKeyBody>;

const keyFields = {
  id: Type.String(),
  serviceId: Type.String(),
  type: KeyType,
  scopes: Type.Array(Scope),
  description: Nullable(Type.String()),
  expiresAt: Nullable(Type.String({ format: 'date-time' })),
  revokedAt: Nullable(Type.String({ format: 'date-time' })),
  lastUsedAt: Nullable(Type.String({ format: 'date-time', description: 'Coarse: updated at most once a minute' })),
  createdAt: Type.String({ format: 'date-time' }),
};
const KEY_EXAMPLE = {
  id: '3f9a1c0b7d2e4a68',
  serviceId: '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6c',
  type: 'live',
  scopes: ['messages:send', 'otp:verify'],
  description: 'reset flow, prod',
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: '2026-12-07T10:05:00.000Z',
  createdAt: '2026-12-07T10:00:00.000Z',
};
/** A key as listed: never its secret. */
export const KeyView = Type.Object(keyFields, { examples: [KEY_EXAMPLE] });
export const KeyList = Type.Object({ items: Type.Array(KeyView) }, { examples: [{ items: [KEY_EXAMPLE] }] });
/** A key just created: the only time `key` (with its secret) is shown. */
export const CreatedKey = Type.Object(
  {
    ...keyFields,
    key: Type.String({ description: 'smsq_<type>_<id>_<secret>: shown once, stored only as a hash' }),
  },
  { examples: [{ ...KEY_EXAMPLE, key: `smsq_live_3f9a1c0b7d2e4a68_${'0f'.repeat(32)}` }] },
);

export const AuditQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) },
  { additionalProperties: false },
);
export const AuditList = Type.Object(
  {
    items: Type.Array(
      Type.Object({
        id: Type.String(),
        at: Type.String({ format: 'date-time' }),
        keyId: Type.String(),
        service: Type.String(),
        action: Type.String(),
        target: Nullable(Type.String()),
        detail: Type.Unknown(),
      }),
    ),
  },
  {
    examples: [
      {
        items: [
          {
            id: '12',
            at: '2026-12-07T10:00:00.000Z',
            keyId: 'env:ops',
            service: 'ops',
            action: 'key.created',
            target: '3f9a1c0b7d2e4a68',
            detail: { service: 'password-reset', type: 'live', scopes: ['messages:send'] },
          },
        ],
      },
    ],
  },
);
