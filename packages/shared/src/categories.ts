import { Category } from './generated/prisma/enums.js';

export type CategoryName = (typeof Category)[keyof typeof Category];
export const CATEGORIES = Object.values(Category) as CategoryName[];

/**
 * How long a message may wait before it is no longer worth sending. A login code is useless after its
 * own lifetime; an alert about a card is still worth a few hours; marketing can wait for Twilio's maximum.
 */
export const DEFAULT_TTL_SECONDS: Readonly<Record<CategoryName, number>> = {
  otp: 600,
  security: 3600,
  transaction: 4 * 3600,
  account: 4 * 3600,
  marketing: 36_000,
};

/** Twilio's ValidityPeriod bounds; ttlSeconds shares them. */
export const TTL_MIN_SECONDS = 1;
export const TTL_MAX_SECONDS = 36_000;

/** BullMQ priority (lower runs first): codes before alerts before marketing. */
export const CATEGORY_PRIORITY: Readonly<Record<CategoryName, number>> = {
  otp: 1,
  security: 2,
  transaction: 3,
  account: 3,
  marketing: 4,
};
