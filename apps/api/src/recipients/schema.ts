import { Nullable } from '../common-schema.js';
import { Type, type Static, type TBoolean } from '@sinclair/typebox';
import { CATEGORIES, type CategoryName } from '@smsq/shared';

const Preferences = Type.Object(
  Object.fromEntries(CATEGORIES.map((c) => [c, Type.Boolean()])) as Record<CategoryName, TBoolean>,
  { additionalProperties: false },
);

/** Fastify's longest path parameter (maxParamLength), so every userId a message names can be PUT too. */
export const USER_ID_MAX_LENGTH = 100;

export const RecipientParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: USER_ID_MAX_LENGTH }) });

export const PutRecipientBody = Type.Object(
  {
    phone: Type.Optional(
      Nullable(Type.String({ minLength: 1, maxLength: 32, description: 'E.164', examples: ['+14155552671'] })),
    ),
    preferences: Type.Optional(
      Type.Partial(Preferences, {
        description: 'Category → on/off; a category left out is on. otp and security cannot be switched off.',
        examples: [{ transaction: true, marketing: false }],
      }),
    ),
    locale: Type.Optional(
      Nullable(Type.String({ minLength: 2, maxLength: 35, description: 'BCP 47', examples: ['en-US'] })),
    ),
    timezone: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 64,
          description: 'IANA name; marketing to this recipient waits out quiet hours in it',
          examples: ['America/New_York'],
        }),
      ),
    ),
  },
  { additionalProperties: false },
);
export type PutRecipientBody = Static<typeof PutRecipientBody>;

export const RecipientView = Type.Object(
  {
    userId: Type.String(),
    phone: Nullable(Type.String()),
    preferences: Type.Object(Preferences.properties, {
      description: 'Every category, with whether it reaches this recipient',
    }),
    locale: Nullable(Type.String()),
    timezone: Nullable(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  {
    examples: [
      {
        userId: 'u_42',
        phone: '+14155552671',
        preferences: { otp: true, security: true, transaction: true, account: true, marketing: false },
        locale: 'en-US',
        timezone: 'America/Los_Angeles',
        createdAt: '2026-11-21T10:00:00.000Z',
        updatedAt: '2026-11-21T10:00:00.000Z',
      },
    ],
  },
);
export type RecipientView = Static<typeof RecipientView>;
