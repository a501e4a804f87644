import { describe, expect, it } from 'vitest';
import { allPrefixes, destinationPrefix } from '../src/pumping/prefix.js';

describe('destinationPrefix', () => {
  it.each([
    ['+14155552671', 3, '1415'],
    ['+23276123456', 3, '232761'], // three-digit country code
    ['+447400123456', 3, '44740'],
    ['+447400123456', 4, '447400'],
    ['+4915123456789', 2, '4915'],
    ['+14155552671', 0, '1'], // the country alone
    ['+14155552671', 10, '14155552671'], // the whole national number
    ['+14155552671', 50, '14155552671'], // no more digits than the number has
  ])('%s with %i national digits is %s', (e164, n, prefix) => {
    expect(destinationPrefix(e164, n)).toBe(prefix);
  });

  it('puts two numbers of one range in one prefix, and of another range in another', () => {
    expect(destinationPrefix('+23276123456', 3)).toBe(destinationPrefix('+23276199999', 3));
    expect(destinationPrefix('+23276123456', 3)).not.toBe(destinationPrefix('+23277123456', 3));
  });

  it('tells a country code from national digits (+1 415 vs +14 15…)', () => {
    expect(destinationPrefix('+14155552671', 1)).toBe('14');
    expect(destinationPrefix('+447400123456', 1)).toBe('447');
  });

  it.each(['14155552671', 'abc', '', '+'])('throws RangeError for %j', (input) => {
    expect(() => destinationPrefix(input, 3)).toThrow(RangeError);
  });
});

describe('allPrefixes', () => {
  it('lists every leading part of the digits, shortest first', () => {
    expect(allPrefixes('+14155552671')).toEqual([
      '1',
      '14',
      '141',
      '1415',
      '14155',
      '141555',
      '1415555',
      '14155552',
      '141555526',
      '1415555267',
      '14155552671',
    ]);
  });

  it("treats '+' as optional and gives nothing for nothing", () => {
    expect(allPrefixes('232')).toEqual(['2', '23', '232']);
    expect(allPrefixes('+')).toEqual([]);
    expect(allPrefixes('')).toEqual([]);
  });

  it('contains the destination prefix of any length, so a block on a range covers the number', () => {
    for (const e164 of ['+14155552671', '+23276123456', '+447400123456']) {
      const all = allPrefixes(e164);
      for (let n = 0; n <= 8; n++) expect(all).toContain(destinationPrefix(e164, n));
    }
  });
});
