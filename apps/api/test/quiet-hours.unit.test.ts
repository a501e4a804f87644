import { describe, expect, it } from 'vitest';
import { afterQuietHours, canonicalTimezone } from '../src/messages/quiet-hours.js';

const NIGHT = { startHour: 21, endHour: 8 }; // wraps midnight
const EARLY = { startHour: 1, endHour: 6 }; // does not
const after = (iso: string, zone: string, q = NIGHT) => afterQuietHours(new Date(iso), zone, q).toISOString();

describe('afterQuietHours across midnight (21 → 8)', () => {
  it.each([
    ['2026-06-10T20:59:59.999Z', '2026-06-10T20:59:59.999Z'], // just before quiet hours: unchanged
    ['2026-06-10T21:00:00.000Z', '2026-06-11T08:00:00.000Z'], // quiet hours start: next morning
    ['2026-06-10T23:30:00.000Z', '2026-06-11T08:00:00.000Z'],
    ['2026-06-11T00:00:00.000Z', '2026-06-11T08:00:00.000Z'], // after midnight: this morning
    ['2026-06-11T07:59:59.999Z', '2026-06-11T08:00:00.000Z'],
    ['2026-06-11T08:00:00.000Z', '2026-06-11T08:00:00.000Z'], // end is exclusive
    ['2026-06-11T12:00:00.000Z', '2026-06-11T12:00:00.000Z'],
  ])('in UTC, %s → %s', (at, expected) => {
    expect(after(at, 'UTC')).toBe(expected);
  });

  it('returns the same Date object when not quiet', () => {
    const at = new Date('2026-06-11T12:00:00Z');
    expect(afterQuietHours(at, 'UTC', NIGHT)).toBe(at);
  });

  it('rolls over month and year ends', () => {
    expect(after('2026-12-31T22:00:00Z', 'UTC')).toBe('2027-01-01T08:00:00.000Z');
    expect(after('2026-02-28T23:00:00Z', 'UTC')).toBe('2026-03-01T08:00:00.000Z');
  });
});

describe('afterQuietHours without wrapping (1 → 6)', () => {
  it.each([
    ['2026-06-11T00:59:00Z', '2026-06-11T00:59:00.000Z'],
    ['2026-06-11T01:00:00Z', '2026-06-11T06:00:00.000Z'],
    ['2026-06-11T05:59:00Z', '2026-06-11T06:00:00.000Z'],
    ['2026-06-11T06:00:00Z', '2026-06-11T06:00:00.000Z'],
    ['2026-06-11T23:00:00Z', '2026-06-11T23:00:00.000Z'],
  ])('in UTC, %s → %s', (at, expected) => {
    expect(after(at, 'UTC', EARLY)).toBe(expected);
  });
});

describe('afterQuietHours in time zones', () => {
  it('judges the hour on the recipient’s local clock', () => {
    // 20:00 UTC is 22:00 in Berlin (summer, UTC+2): quiet until 08:00 Berlin = 06:00 UTC.
    expect(after('2026-06-10T20:00:00Z', 'Europe/Berlin')).toBe('2026-06-11T06:00:00.000Z');
    // 20:00 UTC is 16:00 in New York (EDT): not quiet.
    expect(after('2026-06-10T20:00:00Z', 'America/New_York')).toBe('2026-06-10T20:00:00.000Z');
    // 03:00 UTC is 23:00 the previous evening in New York: until 08:00 EDT = 12:00 UTC.
    expect(after('2026-06-11T03:00:00Z', 'America/New_York')).toBe('2026-06-11T12:00:00.000Z');
  });

  it('handles zones ahead of UTC whose local date is already tomorrow', () => {
    // 15:00 UTC on the 10th is 03:00 on the 11th in Auckland (NZST, UTC+12): 08:00 NZST = 20:00 UTC.
    expect(after('2026-06-10T15:00:00Z', 'Pacific/Auckland')).toBe('2026-06-10T20:00:00.000Z');
  });

  it('handles half-hour offsets', () => {
    // 16:00 UTC is 21:30 in Kolkata (UTC+5:30): until 08:00 IST = 02:30 UTC.
    expect(after('2026-06-10T16:00:00Z', 'Asia/Kolkata')).toBe('2026-06-11T02:30:00.000Z');
    expect(after('2026-06-10T15:29:00Z', 'Asia/Kolkata')).toBe('2026-06-10T15:29:00.000Z');
  });

  it('keeps 08:00 local across the spring DST change (New York, 8 March 2026)', () => {
    // 01:30 EST; clocks jump at 02:00; 08:00 EDT is 12:00 UTC, not 13:00.
    expect(after('2026-03-08T06:30:00Z', 'America/New_York')).toBe('2026-03-08T12:00:00.000Z');
    // From the evening before (22:00 EST), the next morning is the same 08:00 EDT.
    expect(after('2026-03-08T03:00:00Z', 'America/New_York')).toBe('2026-03-08T12:00:00.000Z');
  });

  it('keeps 08:00 local across the autumn DST change (New York, 1 November 2026)', () => {
    // 01:30 EDT, before clocks go back: 08:00 EST is 13:00 UTC.
    expect(after('2026-11-01T05:30:00Z', 'America/New_York')).toBe('2026-11-01T13:00:00.000Z');
  });

  it('moves an end hour that the DST change skips to the first real time after it', () => {
    // Quiet 01 → 02 on the night 02:00 does not exist in New York: 03:00 EDT = 07:00 UTC.
    expect(afterQuietHours(new Date('2026-03-08T06:30:00Z'), 'America/New_York', { startHour: 1, endHour: 2 })).toEqual(
      new Date('2026-03-08T07:00:00Z'),
    );
  });

  it('never returns a time before the one given', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Pacific/Auckland', 'Asia/Kolkata', 'Pacific/Chatham'];
    const start = Date.parse('2026-03-01T00:00:00Z');
    for (const zone of zones) {
      for (let h = 0; h < 24 * 40; h += 7) {
        const at = new Date(start + h * 3600_000 + 17 * 60_000);
        const out = afterQuietHours(at, zone, NIGHT);
        expect(out.getTime()).toBeGreaterThanOrEqual(at.getTime());
        expect(out.getTime() - at.getTime()).toBeLessThanOrEqual(12 * 3600_000);
      }
    }
  });

  it('leaves the time alone for a zone it cannot use', () => {
    const at = new Date('2026-06-10T23:00:00Z');
    expect(afterQuietHours(at, 'Not/AZone', NIGHT)).toBe(at);
  });
});

describe('canonicalTimezone', () => {
  it.each([
    ['Europe/Berlin', 'Europe/Berlin'],
    ['europe/berlin', 'Europe/Berlin'],
    ['AMERICA/NEW_YORK', 'America/New_York'],
    ['UTC', 'UTC'],
  ])('spells %j as %j', (name, canonical) => {
    expect(canonicalTimezone(name)).toBe(canonical);
  });

  it.each(['', 'Mars/Olympus', 'Europe', 'GMT+25', 'Europe/Berlin '])('rejects %j', (name) => {
    expect(canonicalTimezone(name)).toBeUndefined();
  });
});
