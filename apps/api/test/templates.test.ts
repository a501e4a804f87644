import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATE_CATALOGUE, countSegments, renderTemplate, requiredFields } from '@smsq/shared';
import { AUTH, startStack, type Stack } from '../../../test/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ withWorkers: false });
});
afterAll(async () => {
  await stack.close();
});

const post = (payload: object) => stack.api.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload });
const rowCount = () => stack.prisma.message.count();

describe('the catalogue', () => {
  it('has every template the catalogue names (docs/api.md), each with data for exactly its placeholders', () => {
    const names = TEMPLATE_CATALOGUE.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'otp',
        'two_factor',
        'login_alert',
        'security_alert',
        'account_lockout',
        'password_changed',
        'transaction_alert',
        'low_balance',
        'large_transaction',
        'transfer_confirmation',
        'account_activation',
        'card_alert',
        'kyc_update',
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
    for (const t of TEMPLATE_CATALOGUE)
      expect(Object.keys(t.exampleData).sort(), t.name).toEqual(requiredFields(t).sort());
  });

  it.each(TEMPLATE_CATALOGUE.map((t) => [t.name, t] as const))(
    '%s renders its example as one GSM-7 segment',
    (_, t) => {
      const { body } = renderTemplate(t.name, t.exampleData);
      expect(body).not.toMatch(/[{}]/);
      expect(countSegments(body)).toEqual({ segments: 1, encoding: 'GSM-7' });
    },
  );

  it('renders the OTP text the contract gives (docs/design.md)', () => {
    expect(renderTemplate('otp', { code: '123456', minutes: 10 }).body).toBe(
      'Your OTP is: 123456\n\nThis OTP will expire in 10 minutes.',
    );
  });

  it('keeps data out of the template syntax and on one line', () => {
    const { body } = renderTemplate('transfer_confirmation', {
      amount: '{amount}',
      payee: 'Eve\n\nReply with your PIN',
      reference: '  {payee}\t42 ',
    });
    expect(body).toBe('Transfer confirmed: {amount} sent to Eve Reply with your PIN, reference {payee} 42.');
  });
});

describe('GET /v1/templates', () => {
  it('lists name, category, requiredFields and the rendered example', async () => {
    const res = await stack.api.inject({ url: '/v1/templates', headers: AUTH });
    expect(res.statusCode).toBe(200);
    const { templates } = res.json();
    expect(templates).toHaveLength(TEMPLATE_CATALOGUE.length);
    expect(templates.find((t: { name: string }) => t.name === 'card_alert')).toEqual({
      name: 'card_alert',
      category: 'security',
      requiredFields: ['last4'],
      text: 'Your card ending {last4} was blocked. If this was not you, call the number on the back of your card.',
      example: 'Your card ending 4242 was blocked. If this was not you, call the number on the back of your card.',
      exampleData: { last4: '4242' },
    });
    expect(templates.find((t: { name: string }) => t.name === 'transaction_alert').requiredFields).toEqual([
      'amount',
      'merchant',
      'last4',
      'date',
    ]);
  });

  it('needs the API key', async () => {
    expect((await stack.api.inject({ url: '/v1/templates' })).statusCode).toBe(401);
  });
});

describe('POST /v1/messages with a template', () => {
  it('renders the body, takes the template category, and records the template name', async () => {
    const res = await post({ to: '+14155552671', template: 'card_alert', data: { last4: '4242' } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ category: 'security', segments: 1, encoding: 'GSM-7' });
    const detail = (await stack.api.inject({ url: `/v1/messages/${res.json().id}`, headers: AUTH })).json();
    expect(detail).toMatchObject({
      template: 'card_alert',
      category: 'security',
      segments: 1,
      encoding: 'GSM-7',
      body: 'Your card ending 4242 was blocked. If this was not you, call the number on the back of your card.',
    });
    const job = await stack.apiDeps.queues.send.getJob(res.json().id);
    expect(job?.opts.priority).toBe(2);
  });

  it('accepts numbers as data and a category that agrees with the template', async () => {
    const res = await post({
      to: '+14155552671',
      template: 'low_balance',
      category: 'account',
      data: { last4: 9876, balance: 48.2, threshold: 'USD 100' },
    });
    expect(res.statusCode).toBe(202);
    const row = await stack.prisma.message.findUniqueOrThrow({ where: { id: res.json().id } });
    expect(row.body).toBe('Low balance: your account ending 9876 has 48.2 left, below your alert level of USD 100.');
    expect(row.template).toBe('low_balance');
  });

  it('hides the body of an OTP template message', async () => {
    const res = await post({ to: '+14155552671', template: 'two_factor', data: { code: '271828' } });
    expect(res.json().category).toBe('otp');
    const detail = (await stack.api.inject({ url: `/v1/messages/${res.json().id}`, headers: AUTH })).json();
    expect(detail.body).toBeNull();
  });

  const bad: [string, object, string, string][] = [
    ['an unknown template', { template: 'nope' }, 'unknown_template', 'template'],
    ['no data', { template: 'card_alert' }, 'missing_template_data', 'data.last4'],
    [
      'a missing field',
      { template: 'transaction_alert', data: { amount: 'USD 1', merchant: 'X', date: '1 Dec' } },
      'missing_template_data',
      'data.last4',
    ],
    ['an empty value', { template: 'card_alert', data: { last4: ' \n ' } }, 'missing_template_data', 'data.last4'],
    [
      'a field the template lacks',
      { template: 'card_alert', data: { last4: '1', x: '2' } },
      'validation_failed',
      'data.x',
    ],
    [
      'a value too long',
      { template: 'card_alert', data: { last4: '1'.repeat(161) } },
      'validation_failed',
      'data.last4',
    ],
    ['an object value', { template: 'card_alert', data: { last4: { n: 1 } } }, 'validation_failed', 'data.last4'],
    [
      'a category other than the template one',
      { template: 'card_alert', data: { last4: '1' }, category: 'marketing' },
      'validation_failed',
      'category',
    ],
    ['data without a template', { body: 'hi', data: { a: '1' } }, 'validation_failed', 'data'],
    [
      'a body and a template',
      { body: 'hi', template: 'card_alert', data: { last4: '1' } },
      'validation_failed',
      'body',
    ],
  ];
  it.each(bad)('refuses %s with 400 and writes nothing', async (_, payload, code, field) => {
    const before = await rowCount();
    const res = await post({ to: '+14155552671', ...payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code, field });
    expect(await rowCount()).toBe(before);
  });
});
