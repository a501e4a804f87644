import { describe, expect, it } from 'vitest';
import { CATEGORIES } from '../src/categories.js';
import { countSegments } from '../src/segments.js';
import {
  MAX_TEMPLATE_VALUE_LENGTH,
  TEMPLATE_CATALOGUE,
  TemplateError,
  findTemplate,
  renderTemplate,
  requiredFields,
  type TemplateErrorCode,
} from '../src/templates/index.js';

/** The TemplateError a call throws (fails the test when it throws nothing or something else). */
function templateError(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return err as TemplateError;
  }
  throw new Error('expected a TemplateError');
}

const expectRefusal = (fn: () => unknown, code: TemplateErrorCode, field: string) => {
  const err = templateError(fn);
  expect({ code: err.code, field: err.field, name: err.name }).toEqual({ code, field, name: 'TemplateError' });
  expect(err).toBeInstanceOf(Error);
};

describe('the catalogue', () => {
  it('has unique names and known categories', () => {
    const names = TEMPLATE_CATALOGUE.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of TEMPLATE_CATALOGUE) expect(CATEGORIES).toContain(t.category);
  });

  it.each(TEMPLATE_CATALOGUE.map((t) => [t.name, t] as const))(
    '%s: example data names exactly its placeholders and renders to one GSM-7 segment',
    (name, t) => {
      expect(Object.keys(t.exampleData).sort()).toEqual(requiredFields(t).sort());
      const { body, category } = renderTemplate(name, t.exampleData);
      expect(category).toBe(t.category);
      expect(body).not.toMatch(/\{[A-Za-z]/);
      expect(countSegments(body)).toEqual({ segments: 1, encoding: 'GSM-7' });
    },
  );

  it('keeps marketing opt-out wording and the fraud alerts non-optional (security)', () => {
    expect(findTemplate('promotion')).toMatchObject({ category: 'marketing' });
    expect(findTemplate('promotion')!.text).toContain('Reply STOP');
    expect(findTemplate('large_transaction')!.category).toBe('security');
    expect(findTemplate('card_alert')!.category).toBe('security');
  });
});

describe('findTemplate and requiredFields', () => {
  it.each(['nope', '', 'OTP', 'toString', '__proto__', 'constructor'])('finds no template %j', (name) => {
    expect(findTemplate(name)).toBeUndefined();
  });

  it('lists placeholders in order of first appearance, each once', () => {
    expect(requiredFields(findTemplate('security_alert')!)).toEqual(['event', 'time', 'phone']);
    const twice = { name: 'x', category: 'account' as const, text: '{a} {b} {a} {c1_x}', exampleData: {} };
    expect(requiredFields(twice)).toEqual(['a', 'b', 'c1_x']);
  });

  it('does not count braces that are not a placeholder', () => {
    const t = { name: 'x', category: 'account' as const, text: '{} {1a} {a-b} { a } {ok}', exampleData: {} };
    expect(requiredFields(t)).toEqual(['ok']);
  });
});

describe('renderTemplate', () => {
  it('fills every placeholder', () => {
    expect(renderTemplate('card_alert', { last4: '4242' })).toEqual({
      name: 'card_alert',
      category: 'security',
      body: 'Your card ending 4242 was blocked. If this was not you, call the number on the back of your card.',
    });
  });

  it('writes numbers as their decimal text', () => {
    expect(renderTemplate('otp', { code: 123456, minutes: 10 }).body).toBe(
      'Your OTP is: 123456\n\nThis OTP will expire in 10 minutes.',
    );
    expect(renderTemplate('card_alert', { last4: 0 }).body).toContain('ending 0 was');
  });

  it('turns control characters and line breaks in data into single spaces, and trims', () => {
    const { body } = renderTemplate('card_alert', { last4: '  42\n\n42\t\u0000x \r\n ' });
    expect(body).toContain('ending 42 42 x was blocked');
  });

  it('keeps the line breaks of the template text itself', () => {
    expect(renderTemplate('otp', { code: '1', minutes: '2' }).body.split('\n')).toHaveLength(3);
  });

  it('inserts values literally: a value cannot reach the template syntax or replacement patterns', () => {
    const { body } = renderTemplate('security_alert', { event: '{phone}', time: "$& $1 $$ $'", phone: '{time}' });
    expect(body).toBe(
      "Security alert: {phone} on your account at $& $1 $$ $'. If this was not you, call us at {time}.",
    );
  });

  it('refuses an unknown template', () => {
    expectRefusal(() => renderTemplate('no_such_template', {}), 'unknown_template', 'template');
  });

  it('refuses a data key that is not a placeholder, naming it', () => {
    expectRefusal(
      () => renderTemplate('card_alert', { last4: '1', extra: 'x' }),
      'invalid_template_data',
      'data.extra',
    );
  });

  it('reports an unknown key before a missing one', () => {
    expectRefusal(() => renderTemplate('card_alert', { lastFour: '1' }), 'invalid_template_data', 'data.lastFour');
  });

  it('refuses missing data, naming the first missing field', () => {
    expectRefusal(() => renderTemplate('card_alert'), 'missing_template_data', 'data.last4');
    expectRefusal(() => renderTemplate('security_alert', { event: 'x' }), 'missing_template_data', 'data.time');
  });

  it.each(['', '   ', '\n\t', '\u0000'])('treats %j as missing', (value) => {
    expectRefusal(() => renderTemplate('card_alert', { last4: value }), 'missing_template_data', 'data.last4');
  });

  it(`accepts a value of ${MAX_TEMPLATE_VALUE_LENGTH} characters after cleaning and refuses one longer`, () => {
    expect(MAX_TEMPLATE_VALUE_LENGTH).toBe(160);
    const max = 'x'.repeat(MAX_TEMPLATE_VALUE_LENGTH);
    expect(renderTemplate('promotion', { offer: `  ${max}\n` }).body).toBe(`${max} Reply STOP to opt out.`);
    expectRefusal(() => renderTemplate('promotion', { offer: `${max}y` }), 'invalid_template_data', 'data.offer');
  });
});
