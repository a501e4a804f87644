/** Twilio's RFC-2822 form, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`. */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

function twoDigits(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** Carrier DLR "done date" as Twilio passes it through in RawDlrDoneDate: `YYMMDDhhmm`, UTC. */
export function dlrDoneDate(date: Date): string {
  return (
    twoDigits(date.getUTCFullYear() % 100) +
    twoDigits(date.getUTCMonth() + 1) +
    twoDigits(date.getUTCDate()) +
    twoDigits(date.getUTCHours()) +
    twoDigits(date.getUTCMinutes())
  );
}

export interface TimeRange {
  from: number;
  to: number;
}

const DAY_MS = 86_400_000;

/**
 * Twilio's DateSent filters take a GMT day (`YYYY-MM-DD`); the SDK sends full ISO timestamps, so both are accepted.
 * A day covers the whole day; a timestamp is compared at second precision because that is all the RFC-2822
 * dates in responses show.
 */
export function parseDateFilter(value: string): TimeRange | null {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const from = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(from) ? null : { from, to: from + DAY_MS - 1 };
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  const second = Math.floor(at / 1000) * 1000;
  return { from: second, to: second + 999 };
}
