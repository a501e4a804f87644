import { DateTime, IANAZone } from 'luxon';

export interface QuietHours {
  startHour: number;
  endHour: number;
}

/** [start, end) in local hours; a range like 21 → 8 wraps midnight. */
function isQuiet(hour: number, q: QuietHours): boolean {
  return q.startHour < q.endHour ? hour >= q.startHour && hour < q.endHour : hour >= q.startHour || hour < q.endHour;
}

/**
 * The first moment at or after `at` that is outside quiet hours in `timezone`: `at` itself, or the next
 * local `endHour`:00. Luxon keeps the wall clock across DST changes (a 08:00 on the day clocks change is
 * still 08:00 local).
 */
export function afterQuietHours(at: Date, timezone: string, q: QuietHours): Date {
  const local = DateTime.fromJSDate(at, { zone: timezone });
  if (!local.isValid || !isQuiet(local.hour, q)) return at;
  let morning = local.set({ hour: q.endHour, minute: 0, second: 0, millisecond: 0 });
  if (morning <= local) morning = morning.plus({ days: 1 });
  return morning.toJSDate();
}

/** An IANA zone name in its canonical spelling (`europe/berlin` → `Europe/Berlin`), or undefined. */
export function canonicalTimezone(name: string): string | undefined {
  if (!IANAZone.isValidZone(name)) return undefined;
  return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
}
