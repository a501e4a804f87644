import { describe, expect, it } from 'vitest';
import { MessageSealer, UnsealError } from '../src/otp/seal.js';

const SECRET = 'a-test-otp-secret-of-some-length';
const ID = '019a8f2e-7c1d-7b3a-9f10-3c5e2d1a4b6c';
const TEXT = 'Your OTP is: 482913\n\nThis OTP will expire in 10 minutes.';

const sealer = new MessageSealer(SECRET);

/** Replaces the character at `i` of part `part` (0 version, 1 iv, 2 tag, 3 data) with another base64url one. */
function damage(sealed: string, part: number, i = 0): string {
  const parts = sealed.split('.');
  const p = parts[part]!;
  parts[part] = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1);
  return parts.join('.');
}

describe('MessageSealer', () => {
  it('opens what it sealed', () => {
    expect(sealer.open(ID, sealer.seal(ID, TEXT))).toBe(TEXT);
  });

  it.each(['', 'x', 'Ваш код: 1234 😀', 'a'.repeat(1600), 'dots . in . text'])('round-trips %j', (text) => {
    expect(sealer.open(ID, sealer.seal(ID, text))).toBe(text);
  });

  it('opens with another instance built from the same secret (API seals, worker opens)', () => {
    expect(new MessageSealer(SECRET).open(ID, sealer.seal(ID, TEXT))).toBe(TEXT);
  });

  it('has the form v1.<iv>.<tag>.<ciphertext> in base64url, without the plaintext', () => {
    const sealed = sealer.seal(ID, TEXT);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('482913');
    expect(Buffer.from(sealed.split('.')[3]!, 'base64url').toString('latin1')).not.toContain('482913');
    // GCM is a stream mode: the ciphertext is as long as the text.
    expect(Buffer.from(sealed.split('.')[3]!, 'base64url')).toHaveLength(Buffer.byteLength(TEXT));
  });

  it('seals one text differently each time (random IV)', () => {
    const a = sealer.seal(ID, TEXT);
    const b = sealer.seal(ID, TEXT);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(sealer.open(ID, a)).toBe(sealer.open(ID, b));
  });

  it('does not open under another secret', () => {
    const sealed = sealer.seal(ID, TEXT);
    expect(() => new MessageSealer(`${SECRET}x`).open(ID, sealed)).toThrow(UnsealError);
    expect(() => new MessageSealer(undefined).open(ID, sealed)).toThrow(UnsealError);
  });

  it("does not open as another message's text", () => {
    const sealed = sealer.seal(ID, TEXT);
    expect(() => sealer.open(`${ID.slice(0, -1)}d`, sealed)).toThrow(UnsealError);
    expect(() => sealer.open('', sealed)).toThrow(UnsealError);
  });

  it.each([
    [1, 'iv'],
    [2, 'tag'],
    [3, 'ciphertext'],
  ])('refuses a damaged %s (part %i)', (part) => {
    const sealed = sealer.seal(ID, TEXT);
    expect(() => sealer.open(ID, damage(sealed, part))).toThrow(UnsealError);
    expect(() => sealer.open(ID, damage(sealed, part, 5))).toThrow(UnsealError);
  });

  it('refuses a truncated ciphertext or tag', () => {
    const [v, iv, tag, data] = sealer.seal(ID, TEXT).split('.');
    expect(() => sealer.open(ID, [v, iv, tag, data!.slice(0, -4)].join('.'))).toThrow(UnsealError);
    expect(() => sealer.open(ID, [v, iv, tag!.slice(0, 8), data].join('.'))).toThrow(UnsealError);
  });

  it.each(['', 'plain text', TEXT, 'v1', 'v1.a.b', 'v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA'])(
    'refuses %j, which is not a sealed text',
    (value) => {
      expect(() => sealer.open(ID, value)).toThrow(UnsealError);
    },
  );

  it('refuses a version it does not know even when the rest is valid', () => {
    const sealed = sealer.seal(ID, TEXT);
    expect(() => sealer.open(ID, sealed.replace(/^v1\./, 'v2.'))).toThrow(UnsealError);
  });

  it('without a secret, uses one key per process: instances in this process open each other', () => {
    const a = new MessageSealer(undefined);
    const b = new MessageSealer(undefined);
    expect(b.open(ID, a.seal(ID, TEXT))).toBe(TEXT);
    expect(() => sealer.open(ID, a.seal(ID, TEXT))).toThrow(UnsealError);
  });

  it('throws UnsealError as an Error', () => {
    expect(new UnsealError('x')).toBeInstanceOf(Error);
  });
});
