import { describe, expect, it } from 'vitest';
import { FINAL_STATUSES, MessageStatus, STATUS_ORDER, fromTwilioStatus, isFinal } from '../src/statuses.js';

describe('STATUS_ORDER', () => {
  it('lists every status of the database enum once, in the enum order', () => {
    expect(STATUS_ORDER).toEqual(Object.values(MessageStatus));
    expect(new Set(STATUS_ORDER).size).toBe(STATUS_ORDER.length);
  });

  it('puts the lifecycle steps in the order a message goes through them', () => {
    const at = (s: (typeof STATUS_ORDER)[number]) => STATUS_ORDER.indexOf(s);
    expect(at('queued')).toBe(0);
    expect(at('queued')).toBeLessThan(at('sending'));
    expect(at('sending')).toBeLessThan(at('submitted'));
    expect(at('submitted')).toBeLessThan(at('sent'));
    expect(at('sent')).toBeLessThan(at('delivered'));
  });

  it('places every final status after every non-final one', () => {
    const firstFinal = STATUS_ORDER.findIndex(isFinal);
    expect(STATUS_ORDER.slice(0, firstFinal)).toEqual(['queued', 'sending', 'submitted', 'sent']);
    expect(STATUS_ORDER.slice(firstFinal).every(isFinal)).toBe(true);
  });
});

describe('FINAL_STATUSES and isFinal', () => {
  it('are the five end states, and only those', () => {
    expect([...FINAL_STATUSES].sort()).toEqual(['canceled', 'delivered', 'expired', 'failed', 'undelivered']);
  });

  it.each(STATUS_ORDER.map((s) => [s, FINAL_STATUSES.has(s)] as const))('isFinal(%s) is %s', (status, final) => {
    expect(isFinal(status)).toBe(final);
  });

  it('does not treat `sent` (handed to the carrier, not yet delivered) as final', () => {
    expect(isFinal('sent')).toBe(false);
    expect(isFinal('submitted')).toBe(false);
  });
});

describe('fromTwilioStatus', () => {
  it.each(['accepted', 'scheduled', 'queued', 'sending'])("maps Twilio's pre-carrier %s to submitted", (s) => {
    expect(fromTwilioStatus(s)).toBe('submitted');
  });

  it.each(['sent', 'delivered', 'undelivered', 'failed', 'canceled'])('maps %s to the status of the same name', (s) => {
    expect(fromTwilioStatus(s)).toBe(s);
  });

  it.each([
    'receiving',
    'received', // inbound statuses
    'read', // WhatsApp
    'partially_delivered',
    'expired', // ours, never Twilio's
    'DELIVERED', // Twilio sends lower case; no guessing
    ' sent',
    '',
    'toString',
  ])('does not map %j', (s) => {
    expect(fromTwilioStatus(s)).toBeUndefined();
  });

  it('never maps a pre-carrier Twilio state to a final status', () => {
    for (const s of ['accepted', 'scheduled', 'queued', 'sending']) expect(isFinal(fromTwilioStatus(s)!)).toBe(false);
  });

  it('only ever yields statuses of STATUS_ORDER', () => {
    const twilio = ['accepted', 'scheduled', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed'];
    for (const s of [...twilio, 'canceled']) expect(STATUS_ORDER).toContain(fromTwilioStatus(s));
  });
});
