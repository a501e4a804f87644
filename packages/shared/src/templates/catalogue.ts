import type { CategoryName } from '../categories.js';

export interface TemplateDefinition {
  name: string;
  /** A message from a template always has this category: it decides TTL, priority and preferences. */
  category: CategoryName;
  /** `{field}` placeholders are filled from the request's `data`; every placeholder is required. */
  text: string;
  /** Data a caller might send; the catalogue test renders it and checks it fits one GSM-7 segment. */
  exampleData: Readonly<Record<string, string>>;
}

/**
 * The built-in catalogue. Texts keep to the GSM-7 alphabet (no curly quotes, no apostrophes that a
 * keyboard might curl, no €) and, with typical data, to 160 characters: one segment, one charge.
 * Fraud-related alerts (large_transaction, card_alert) are `security`, so a recipient cannot switch
 * them off; routine money movement is `transaction`; state of the account is `account`.
 */
export const TEMPLATE_CATALOGUE: readonly TemplateDefinition[] = [
  {
    name: 'otp',
    category: 'otp',
    text: 'Your OTP is: {code}\n\nThis OTP will expire in {minutes} minutes.',
    exampleData: { code: '123456', minutes: '10' },
  },
  {
    name: 'two_factor',
    category: 'otp',
    text: '{code} is your verification code. Do not share it with anyone, including our staff.',
    exampleData: { code: '482913' },
  },
  {
    name: 'login_alert',
    category: 'security',
    text: 'New sign-in to your account from {device} near {location} at {time}. Not you? Change your password now.',
    exampleData: { device: 'Chrome on Windows', location: 'Berlin, DE', time: '14:02 UTC' },
  },
  {
    name: 'security_alert',
    category: 'security',
    text: 'Security alert: {event} on your account at {time}. If this was not you, call us at {phone}.',
    exampleData: { event: 'a new payee was added', time: '09:15 UTC', phone: '+1 800 555 0100' },
  },
  {
    name: 'account_lockout',
    category: 'security',
    text: 'Your account is locked after too many failed sign-in attempts. To unlock it, call us at {phone}.',
    exampleData: { phone: '+1 800 555 0100' },
  },
  {
    name: 'password_changed',
    category: 'security',
    text: 'Your password was changed at {time}. If you did not do this, call us at {phone} right away.',
    exampleData: { time: '18:40 UTC', phone: '+1 800 555 0100' },
  },
  {
    name: 'transaction_alert',
    category: 'transaction',
    text: '{amount} spent at {merchant} with your card ending {last4} on {date}.',
    exampleData: { amount: 'USD 42.50', merchant: 'Corner Coffee', last4: '4242', date: '21 Nov' },
  },
  {
    name: 'low_balance',
    category: 'account',
    text: 'Low balance: your account ending {last4} has {balance} left, below your alert level of {threshold}.',
    exampleData: { last4: '9876', balance: 'USD 48.20', threshold: 'USD 100.00' },
  },
  {
    name: 'large_transaction',
    category: 'security',
    text: 'Large transaction: {amount} at {merchant} with your card ending {last4}. Not you? Call us at {phone}.',
    exampleData: { amount: 'USD 2,450.00', merchant: 'Electro Store', last4: '4242', phone: '+1 800 555 0100' },
  },
  {
    name: 'transfer_confirmation',
    category: 'transaction',
    text: 'Transfer confirmed: {amount} sent to {payee}, reference {reference}.',
    exampleData: { amount: 'USD 250.00', payee: 'J. Smith', reference: 'TR-20261121-0042' },
  },
  {
    name: 'account_activation',
    category: 'account',
    text: 'Welcome! Your account is now active. Sign in at {url} to get started.',
    exampleData: { url: 'https://example.com/login' },
  },
  {
    name: 'card_alert',
    category: 'security',
    text: 'Your card ending {last4} was blocked. If this was not you, call the number on the back of your card.',
    exampleData: { last4: '4242' },
  },
  {
    name: 'kyc_update',
    category: 'account',
    text: 'Please confirm your identity details by {date} to keep full access to your account. Go to {url}.',
    exampleData: { date: '5 Dec', url: 'https://example.com/verify' },
  },
  {
    name: 'promotion',
    category: 'marketing',
    text: '{offer} Reply STOP to opt out.',
    exampleData: { offer: 'Get 2% cashback on every card purchase this month.' },
  },
];
