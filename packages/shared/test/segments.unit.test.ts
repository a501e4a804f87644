import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_LENGTH, countSegments } from '../src/segments.js';

// phone-and-segments.test.ts covers 160/161/306/307 plain letters, 80/81 €, 70/71 ж and one emoji after 152
// letters; these are the other boundaries.

describe('countSegments: GSM-7', () => {
  it.each([
    [459, 3],
    [460, 4],
    [1530, 10],
    [1531, 11],
  ])('%i plain letters make %i segments (153 per part)', (n, segments) => {
    expect(countSegments('a'.repeat(n))).toEqual({ segments, encoding: 'GSM-7' });
  });

  it('counts an empty body as one segment', () => {
    expect(countSegments('')).toEqual({ segments: 1, encoding: 'GSM-7' });
  });

  it.each(['^', '{', '}', '\\', '[', '~', ']', '|', '€', '\f'])(
    'counts the extension character %j as two septets',
    (c) => {
      expect(countSegments('a'.repeat(158) + c)).toEqual({ segments: 1, encoding: 'GSM-7' });
      expect(countSegments('a'.repeat(159) + c)).toEqual({ segments: 2, encoding: 'GSM-7' });
    },
  );

  it('never splits a two-septet character across two parts', () => {
    // 306 septets: 2 parts if they could be split, but € does not fit in part 1's last septet.
    const straddling = 'a'.repeat(152) + '€' + 'a'.repeat(152);
    expect(countSegments(straddling)).toEqual({ segments: 3, encoding: 'GSM-7' });
    // The same 306 septets with € wholly inside part 1.
    const inside = 'a'.repeat(151) + '€' + 'a'.repeat(153);
    expect(countSegments(inside)).toEqual({ segments: 2, encoding: 'GSM-7' });
    expect(new SegmentedMessage(straddling).segmentsCount).toBe(3);
  });

  it.each(['é', 'è', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'Å', 'Δ', 'Ω', 'ß', 'Ñ', 'ü', '@', '£', '$', '¥', '\n', '\r'])(
    'keeps the basic-set character %j in GSM-7 at one septet',
    (c) => {
      expect(countSegments(c.repeat(160))).toEqual({ segments: 1, encoding: 'GSM-7' });
    },
  );
});

describe('countSegments: UCS-2', () => {
  it.each([
    ['ç', 'lower-case ç (only Ç is GSM-7)'],
    ['’', 'a curly apostrophe'],
    ['•', 'a bullet (a masked OTP code)'],
    ['á', 'a with acute'],
    ['ж', 'Cyrillic'],
  ])('one %j (%s) turns the whole body UCS-2', (c) => {
    expect(countSegments(`Hello ${c}`)).toEqual({ segments: 1, encoding: 'UCS-2' });
    expect(countSegments('a'.repeat(159) + c)).toEqual({ segments: 3, encoding: 'UCS-2' });
  });

  it.each([
    [134, 2],
    [135, 3],
    [201, 3],
    [202, 4],
  ])('%i UCS-2 characters make %i segments (67 per part)', (n, segments) => {
    expect(countSegments('ж'.repeat(n))).toEqual({ segments, encoding: 'UCS-2' });
  });

  it('counts an emoji as two UTF-16 units', () => {
    expect(countSegments('😀'.repeat(35))).toEqual({ segments: 1, encoding: 'UCS-2' });
    expect(countSegments('😀'.repeat(36))).toEqual({ segments: 2, encoding: 'UCS-2' });
    expect(countSegments('a'.repeat(68) + '😀')).toEqual({ segments: 1, encoding: 'UCS-2' });
    expect(countSegments('a'.repeat(69) + '😀')).toEqual({ segments: 2, encoding: 'UCS-2' });
  });
});

describe('MAX_BODY_LENGTH', () => {
  it("is Twilio's 1600 characters, i.e. at most 11 GSM-7 segments", () => {
    expect(MAX_BODY_LENGTH).toBe(1600);
    expect(countSegments('a'.repeat(MAX_BODY_LENGTH))).toEqual({ segments: 11, encoding: 'GSM-7' });
  });
});
