import { Type, type Static } from '@sinclair/typebox';
import { TTL_MAX_SECONDS } from '@smsq/shared';
import { Nullable, Reference } from '../common-schema.js';
import { OTP_CODE_MAX_LENGTH, OTP_CODE_MIN_LENGTH } from './code.js';

const OtpStatus = Type.Union(
  (['pending', 'approved', 'expired', 'max_attempts_reached', 'canceled'] as const).map((s) => Type.Literal(s)),
);

const To = Type.String({ minLength: 1, maxLength: 32, examples: ['+14155552671'] });
const UserId = Type.String({ minLength: 1, maxLength: 128 });
/** What the code is for; one pending OTP per recipient and purpose. */
const Purpose = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_.:-]+$',
  examples: ['password_reset'],
});

/** An OTP lives at least a minute (its SMS states whole minutes) and at most as long as Twilio keeps an SMS. */
const OTP_TTL_MIN_SECONDS = 60;

export const SendOtpBody = Type.Object(
  {
    to: Type.Optional(To),
    userId: Type.Optional(UserId),
    purpose: Purpose,
    codeLength: Type.Optional(Type.Integer({ minimum: OTP_CODE_MIN_LENGTH, maximum: OTP_CODE_MAX_LENGTH, default: 6 })),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: OTP_TTL_MIN_SECONDS, maximum: TTL_MAX_SECONDS })),
    reference: Type.Optional(Reference),
  },
  { additionalProperties: false },
);
export type SendOtpBody = Static<typeof SendOtpBody>;

export const OtpAccepted = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('canceled')], {
    description: 'pending; canceled only when a newer OTP for the same number and purpose overtook this request',
  }),
  to: Type.String(),
  purpose: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
  attemptsRemaining: Type.Integer(),
  messageId: Type.String(),
  reference: Nullable(Type.String()),
});
export type OtpAccepted = Static<typeof OtpAccepted>;

export const VerifyOtpBody = Type.Object(
  {
    id: Type.Optional(Type.String({ format: 'uuid' })),
    to: Type.Optional(To),
    userId: Type.Optional(UserId),
    purpose: Type.Optional(Purpose),
    // Any string: a code of the wrong length or with letters is a wrong code (it costs an attempt).
    code: Type.String(),
  },
  { additionalProperties: false },
);
export type VerifyOtpBody = Static<typeof VerifyOtpBody>;

export const OtpVerdict = Type.Object({
  id: Type.String(),
  status: OtpStatus,
  valid: Type.Boolean(),
  attemptsRemaining: Type.Integer(),
  reference: Nullable(Type.String()),
});
export type OtpVerdict = Static<typeof OtpVerdict>;
