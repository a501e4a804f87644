import { describe, expect, it } from 'vitest';
import { HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, inboundKeyword } from '../src/opt-outs.js';

describe('keyword sets', () => {
  it("hold Twilio's default keywords", () => {
    expect([...OPT_OUT_KEYWORDS].sort()).toEqual(
      ['CANCEL', 'END', 'OPTOUT', 'QUIT', 'REVOKE', 'STOP', 'STOPALL', 'UNSUBSCRIBE'].sort(),
    );
    expect([...OPT_IN_KEYWORDS].sort()).toEqual(['START', 'UNSTOP', 'YES']);
    expect([...HELP_KEYWORDS].sort()).toEqual(['HELP', 'INFO']);
  });

  it('are upper case and disjoint, so a word has one meaning', () => {
    const all = [...OPT_OUT_KEYWORDS, ...OPT_IN_KEYWORDS, ...HELP_KEYWORDS];
    expect(new Set(all).size).toBe(all.length);
    for (const k of all) expect(k).toBe(k.toUpperCase());
  });
});

describe('inboundKeyword', () => {
  it.each([...OPT_OUT_KEYWORDS])('%s opts out', (k) => expect(inboundKeyword(k)).toBe('opt_out'));
  it.each([...OPT_IN_KEYWORDS])('%s opts in', (k) => expect(inboundKeyword(k)).toBe('opt_in'));
  it.each([...HELP_KEYWORDS])('%s asks for help', (k) => expect(inboundKeyword(k)).toBe('help'));

  it.each([
    ['stop', 'opt_out'],
    ['Stop', 'opt_out'],
    ['sToPaLl', 'opt_out'],
    ['  STOP  ', 'opt_out'],
    ['\tstop\r\n', 'opt_out'],
    ['\u00a0Unsubscribe\u00a0', 'opt_out'],
    ['start', 'opt_in'],
    [' yes\n', 'opt_in'],
    ['unstop', 'opt_in'],
    ['help', 'help'],
    ['Info ', 'help'],
  ] as const)('reads %j in any case and with surrounding whitespace as %s', (body, kind) => {
    expect(inboundKeyword(body)).toBe(kind);
  });

  it.each([
    'STOP PLEASE', // only a keyword alone counts
    'please stop',
    'S T O P',
    'STOP STOP',
    'STOPP',
    'STO',
    'UN STOP',
    'NO',
    'YESS',
    'HELPME',
    '',
    '   ',
  ])('finds no keyword in %j', (body) => {
    expect(inboundKeyword(body)).toBeUndefined();
  });
});
