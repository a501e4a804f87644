import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '@smsq/shared';
import { maskForCaller, retryDelayMs, webhookEvent, type DeliveryRow } from '../src/webhooks/event.js';

const row = (over: Partial<DeliveryRow> = {}): DeliveryRow => ({
  id: '0193f0c2-0000-7000-8000-000000000001',
  type: 'message.undelivered',
  endpointId: '0193f0c2-0000-7000-8000-0000000000e1',
  messageId: '0193f0c2-0000-7000-8000-0000000000a1',
  otpId: null,
  status: 'undelivered',
  errorCode: 30006,
  occurredAt: new Date('2026-12-07T10:00:00.000Z'),
  category: 'otp',
  segments: 1,
  price: '-0.00790',
  priceUnit: 'USD',
  reference: 'reset-42',
  to: '+14155552671',
  purpose: null,
  ...over,
});

describe('webhook events', () => {
  it('a message event: status, its place in the lifecycle, error class, the number masked, no body', () => {
    const event = webhookEvent(row());
    expect(event).toEqual({
      type: 'message.undelivered',
      timestamp: '2026-12-07T10:00:00.000Z',
      data: {
        messageId: '0193f0c2-0000-7000-8000-0000000000a1',
        status: 'undelivered',
        statusRank: 5,
        errorCode: 30006,
        errorClass: 'permanent',
        category: 'otp',
        segments: 1,
        price: '-0.00790',
        priceUnit: 'USD',
        reference: 'reset-42',
        to: '+1415•••2671',
      },
    });
    expect(JSON.stringify(event)).not.toContain('5552671');
  });

  it('ranks statuses in lifecycle order, so a receiver can drop an older event that comes late', () => {
    const rank = (status: string) => (webhookEvent(row({ status })).data as { statusRank: number }).statusRank;
    expect(rank('submitted')).toBeLessThan(rank('sent'));
    expect(rank('sent')).toBeLessThan(rank('delivered'));
    expect(webhookEvent(row({ errorCode: 30003 })).data).toMatchObject({ errorClass: 'temporary' });
    expect(webhookEvent(row({ errorCode: null })).data).toMatchObject({ errorClass: null });
  });

  it('an OTP event names its end in the caller’s words', () => {
    const event = webhookEvent(
      row({ type: 'otp.failed', otpId: 'o1', status: 'max_attempts_reached', purpose: 'login' }),
    );
    expect(event.data).toEqual({
      otpId: 'o1',
      messageId: '0193f0c2-0000-7000-8000-0000000000a1',
      status: 'failed',
      purpose: 'login',
      reference: 'reset-42',
      to: '+1415•••2671',
    });
  });

  it('masks short numbers too', () => {
    expect(maskForCaller('+3531234')).toBe('+3•••34');
    expect(maskForCaller(null)).toBeNull();
  });

  it('retries on the schedule with ±20 % jitter, then gives up', () => {
    const schedule = [5000, 60_000];
    expect(retryDelayMs(1, schedule, () => 0)).toBe(4000);
    expect(retryDelayMs(1, schedule, () => 1)).toBe(6000);
    expect(retryDelayMs(2, schedule, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(3, schedule)).toBeUndefined();
  });
});

describe('webhook destinations', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['::ffff:127.0.0.1', false],
    ['fd00::1', false],
    ['fe80::1', false],
    ['not an address', false],
    ['93.184.216.34', true],
    ['2606:2800:220:1:248:1893:25c8:1946', true],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});
