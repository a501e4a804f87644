import type { CategoryName } from './categories.js';

/** Codes and security alerts reach a recipient whatever their preferences say. */
export const ALWAYS_ON_CATEGORIES: ReadonlySet<CategoryName> = new Set<CategoryName>(['otp', 'security']);

export type Preferences = Partial<Record<CategoryName, boolean>>;

/** A category is on unless the recipient switched it off; otp and security cannot be switched off. */
export function isCategoryEnabled(preferences: Preferences, category: CategoryName): boolean {
  return ALWAYS_ON_CATEGORIES.has(category) || preferences[category] !== false;
}
