import {
  ALWAYS_ON_CATEGORIES,
  CATEGORIES,
  isCategoryEnabled,
  parsePhone,
  type CategoryName,
  type Preferences,
  type PrismaClient,
} from '@smsq/shared';
import { ApiError } from '../errors.js';
import type { PutRecipientBody, RecipientView } from './schema.js';
import { canonicalTimezone } from '../messages/quiet-hours.js';

interface RecipientRow {
  userId: string;
  phone: string | null;
  preferences: unknown;
  locale: string | null;
  timezone: string | null;
  createdAt: Date;
  updatedAt: Date;
}

function canonicalLocale(locale: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(locale)[0];
  } catch {
    return undefined;
  }
}

/** Checks a PUT body and turns it into the stored fields (E.164 phone, canonical locale and zone names). */
function recipientFields(body: PutRecipientBody) {
  let phone: string | null = null;
  if (body.phone != null) {
    const parsed = parsePhone(body.phone);
    if (!parsed) throw new ApiError(400, 'invalid_phone_number', 'not a valid phone number in E.164 form', 'phone');
    phone = parsed.e164;
  }
  const preferences: Preferences = body.preferences ?? {};
  for (const c of ALWAYS_ON_CATEGORIES) {
    // Refused rather than ignored: a caller who believes a user stopped security alerts must learn otherwise.
    if (preferences[c] === false) {
      throw new ApiError(400, 'validation_failed', `${c} messages cannot be switched off`, `preferences.${c}`);
    }
  }
  let locale: string | null = null;
  if (body.locale != null) {
    locale = canonicalLocale(body.locale) ?? null;
    if (!locale) throw new ApiError(400, 'validation_failed', 'locale is not a BCP 47 language tag', 'locale');
  }
  let timezone: string | null = null;
  if (body.timezone != null) {
    timezone = canonicalTimezone(body.timezone) ?? null;
    if (!timezone) {
      throw new ApiError(
        400,
        'validation_failed',
        'timezone is not an IANA time zone like "Europe/Berlin"',
        'timezone',
      );
    }
  }
  return { phone, preferences, locale, timezone };
}

export function recipientView(r: RecipientRow): RecipientView {
  const stored = (r.preferences ?? {}) as Preferences;
  return {
    userId: r.userId,
    phone: r.phone,
    preferences: Object.fromEntries(CATEGORIES.map((c) => [c, isCategoryEnabled(stored, c)])) as Record<
      CategoryName,
      boolean
    >,
    locale: r.locale,
    timezone: r.timezone,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** PUT semantics: creates the recipient or replaces every field of it; fields left out become empty. */
export async function putRecipient(
  prisma: PrismaClient,
  userId: string,
  body: PutRecipientBody,
): Promise<RecipientRow> {
  const fields = recipientFields(body);
  return prisma.recipient.upsert({
    where: { userId },
    create: { userId, ...fields },
    update: { ...fields, updatedAt: new Date() },
  });
}
