import { describe, expect, it } from 'vitest';
import { isValidTwilioSignature } from '../src/twilio.js';

// Twilio's published vectors (docs/design.md, "Webhook signatures": Twilio's security docs and twilio-node's own spec).
const TOKEN = '12345';
const URL_ = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const docsParams = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+12349013030',
  Digits: '1234',
  From: '+12349013030',
  To: '+18005551212',
};
const nodeParams = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};

describe('X-Twilio-Signature validation', () => {
  it("accepts Twilio's documented example", () => {
    expect(isValidTwilioSignature(TOKEN, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', URL_, docsParams)).toBe(true);
  });

  it("accepts twilio-node's vectors, with and without the standard port", () => {
    expect(isValidTwilioSignature(TOKEN, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', URL_, nodeParams)).toBe(true);
    expect(isValidTwilioSignature(TOKEN, 'kvajT1Ptam85bY51eRf/AJRuM3w=', URL_, nodeParams)).toBe(true);
    expect(
      isValidTwilioSignature(
        TOKEN,
        'Zmvh+3yNM1Phv2jhDCwEM3q5ebU=',
        'http://mycompany.com:1234/myapp.php?foo=1&bar=2',
        nodeParams,
      ),
    ).toBe(true);
  });

  it('accepts repeated parameters in any order', () => {
    const params = { 'MessagingBinding.Address': ['+1415xxxxxxx', '+1325xxxxxxx'] };
    expect(isValidTwilioSignature(TOKEN, '83O6e2vORAoJHUNzJjDWN1jz+BA=', URL_, params)).toBe(true);
  });

  it('refuses a signature for another URL, other params, another token, or none', () => {
    expect(
      isValidTwilioSignature(
        TOKEN,
        '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
        'https://example.com/myapp.php?foo=1&bar=2',
        docsParams,
      ),
    ).toBe(false);
    expect(isValidTwilioSignature(TOKEN, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', URL_, { ...docsParams, Digits: '9999' })).toBe(
      false,
    );
    expect(isValidTwilioSignature('54321', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', URL_, docsParams)).toBe(false);
    expect(isValidTwilioSignature(TOKEN, undefined, URL_, docsParams)).toBe(false);
    expect(isValidTwilioSignature(TOKEN, '', URL_, docsParams)).toBe(false);
  });
});
