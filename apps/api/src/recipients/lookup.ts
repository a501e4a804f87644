import { isCategoryEnabled, type CategoryName, type Preferences, type PrismaClient } from '@smsq/shared';
import { ApiError } from '../errors.js';

export interface ResolvedRecipient {
  userId: string;
  phone: string;
  timezone: string | null;
  locale: string | null;
}

export const unknownRecipient = (userId: string) =>
  new ApiError(404, 'unknown_recipient', `no recipient "${userId}"`, 'userId');

/**
 * Turns a userId into the number to text, refusing as the contract says (docs/api.md): unknown user 404, no phone 422,
 * the category switched off 422.
 */
export async function resolveRecipient(
  prisma: PrismaClient,
  userId: string,
  category: CategoryName,
): Promise<ResolvedRecipient> {
  const r = await prisma.recipient.findUnique({ where: { userId } });
  if (!r) throw unknownRecipient(userId);
  if (!r.phone)
    throw new ApiError(422, 'recipient_has_no_phone', `recipient "${userId}" has no phone number`, 'userId');
  if (!isCategoryEnabled((r.preferences ?? {}) as Preferences, category)) {
    throw new ApiError(
      422,
      'category_disabled',
      `recipient "${userId}" has switched off ${category} messages`,
      'category',
    );
  }
  return { userId, phone: r.phone, timezone: r.timezone, locale: r.locale };
}
