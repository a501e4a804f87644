import { describe, expect, it } from 'vitest';
import { endpointVerdict, isSuccess } from '../src/webhooks/verdict.js';

const tries = (...statuses: (number | undefined)[]) => statuses.map((status) => ({ status }));

describe('isSuccess', () => {
  it('takes any 2xx, and nothing else: not a redirect, not a missing response', () => {
    expect(tries(200, 201, 204, 299).every(isSuccess)).toBe(true);
    expect(tries(199, 301, 302, 400, 410, 500, undefined).some(isSuccess)).toBe(false);
  });
});

describe('endpointVerdict', () => {
  it('counts the failures after the last success, which starts the count again', () => {
    expect(endpointVerdict(tries(500, 204, 500, undefined))).toEqual({
      anySucceeded: true,
      failuresInARow: 2,
      gone: false,
    });
    expect(endpointVerdict(tries(500, undefined, 204))).toMatchObject({ anySucceeded: true, failuresInARow: 0 });
  });

  it('counts every failure when none succeeded, for the endpoint to add to its own count', () => {
    expect(endpointVerdict(tries(500, undefined, 503))).toEqual({
      anySucceeded: false,
      failuresInARow: 3,
      gone: false,
    });
  });

  it('notes a 410 Gone anywhere in the group, even before a success', () => {
    expect(endpointVerdict(tries(410, 204)).gone).toBe(true);
    expect(endpointVerdict(tries(404, 500)).gone).toBe(false);
  });

  it('says nothing of an empty group', () => {
    expect(endpointVerdict([])).toEqual({ anySucceeded: false, failuresInARow: 0, gone: false });
  });
});
