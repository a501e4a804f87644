import { randomBytes } from 'node:crypto';

/** How a test-key message ends: as Twilio would end it, never sent anywhere. */
export type TestOutcome = { status: 'delivered' } | { status: 'undelivered' | 'failed'; errorCode: number };

/**
 * Magic numbers for test keys: Twilio's test-credential `To` numbers where they fit (21211 invalid, 21612
 * cannot route, 21408 no international permission, 21610 unsubscribed, 21614 not SMS-capable), and one of
 * smsq's own for a carrier that never delivered (30003 unreachable). Any other number is delivered.
 */
const TEST_NUMBERS: ReadonlyMap<string, TestOutcome> = new Map([
  ['+15005550001', { status: 'failed', errorCode: 21211 }],
  ['+15005550002', { status: 'failed', errorCode: 21612 }],
  ['+15005550003', { status: 'failed', errorCode: 21408 }],
  ['+15005550004', { status: 'failed', errorCode: 21610 }],
  ['+15005550009', { status: 'failed', errorCode: 21614 }],
  ['+15005550010', { status: 'undelivered', errorCode: 30003 }],
]);

export function testOutcome(to: string): TestOutcome {
  return TEST_NUMBERS.get(to) ?? { status: 'delivered' };
}

/** A SID of the simulator's shape (`SM` + 32 hex digits) for a message settled in test mode. */
export const testSid = () => `SM${randomBytes(16).toString('hex')}`;
