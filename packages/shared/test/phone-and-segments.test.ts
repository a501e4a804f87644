import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { maskPhone, parsePhone } from '../src/phone.js';
import { countSegments } from '../src/segments.js';
import { STATUS_ORDER, fromTwilioStatus, isFinal } from '../src/statuses.js';

describe('parsePhone', () => {
  it('normalises international numbers to E.164 with their country', () => {
    expect(parsePhone('+1 (415) 555-2671')).toEqual({ e164: '+14155552671', country: 'US' });
    expect(parsePhone('+44 7400 123456')).toEqual({ e164: '+447400123456', country: 'GB' });
  });
  it.each(['4155552671', '+1555', '+999123456789', '', 'phone', '+1415555267100000'])('rejects %j', (n) => {
    expect(parsePhone(n)).toBeUndefined();
  });
  it('masks all but the last four digits', () => {
    expect(maskPhone('+14155552671')).toBe('***2671');
  });
});

describe('countSegments (as Twilio counts)', () => {
  it.each([
    ['a'.repeat(160), 1, 'GSM-7'],
    ['a'.repeat(161), 2, 'GSM-7'],
    ['a'.repeat(306), 2, 'GSM-7'],
    ['a'.repeat(307), 3, 'GSM-7'],
    ['€'.repeat(80), 1, 'GSM-7'], // escape characters count twice
    ['€'.repeat(81), 2, 'GSM-7'],
    ['é'.repeat(70), 1, 'GSM-7'], // é is in GSM-7's basic set
    ['ж'.repeat(70), 1, 'UCS-2'],
    ['ж'.repeat(71), 2, 'UCS-2'],
    [`${'a'.repeat(152)}😀`, 3, 'UCS-2'], // Twilio's own example: one emoji turns it all UCS-2
  ])('%#: %s segments', (body, segments, encoding) => {
    expect(countSegments(body)).toEqual({ segments, encoding });
  });

  it("agrees with Twilio's calculator on random bodies around the part boundaries", () => {
    // Plain letters, two-septet characters, line breaks (CR LF is the calculator's UCS-2 case), and a
    // few characters outside GSM-7, so both the fast path and the calculator are exercised.
    const alphabet = [...'abcXYZ019 .,!?@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà', ...'€[]{}^~|\\', '\n', '\r', '\f'];
    const rare = ['ж', '😀', '’', 'é'];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 3000; i += 1) {
      const length = [1, 150, 300, 450][i % 4]! + random(20);
      let body = '';
      for (let c = 0; c < length; c += 1)
        body += random(200) === 0 ? rare[random(rare.length)] : alphabet[random(alphabet.length)];
      const twilio = new SegmentedMessage(body);
      expect(countSegments(body), JSON.stringify(body)).toEqual({
        segments: twilio.segmentsCount,
        encoding: twilio.encodingName,
      });
    }
  });
});

describe('statuses', () => {
  it('order and finality', () => {
    expect(STATUS_ORDER.indexOf('submitted')).toBeLessThan(STATUS_ORDER.indexOf('sent'));
    expect(STATUS_ORDER.filter(isFinal)).toEqual(['delivered', 'undelivered', 'failed', 'expired', 'canceled']);
  });
  it("maps Twilio's statuses", () => {
    expect(fromTwilioStatus('queued')).toBe('submitted');
    expect(fromTwilioStatus('sent')).toBe('sent');
    expect(fromTwilioStatus('undelivered')).toBe('undelivered');
    expect(fromTwilioStatus('receiving')).toBeUndefined();
  });
});
