import type { CategoryName } from '../categories.js';
import { TEMPLATE_CATALOGUE, type TemplateDefinition } from './catalogue.js';

export type TemplateData = Readonly<Record<string, string | number>>;

export type TemplateErrorCode = 'unknown_template' | 'missing_template_data' | 'invalid_template_data';

/** Why a template could not be rendered; `field` names the request field (`template`, `data.amount`). */
export class TemplateError extends Error {
  constructor(
    readonly code: TemplateErrorCode,
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface RenderedTemplate {
  name: string;
  category: CategoryName;
  body: string;
}

/** One value, longer than this, is more likely a mistake (or an attempt to write the SMS) than data. */
export const MAX_TEMPLATE_VALUE_LENGTH = 160;

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;
const byName = new Map(TEMPLATE_CATALOGUE.map((t) => [t.name, t]));

export function findTemplate(name: string): TemplateDefinition | undefined {
  return byName.get(name);
}

/** The placeholders of a template, in order of first appearance. */
export function requiredFields(t: TemplateDefinition): string[] {
  return [...new Set(Array.from(t.text.matchAll(PLACEHOLDER), (m) => m[1]!))];
}

/**
 * A data value as it may appear in an SMS: one line (control characters, newlines included, become
 * spaces, so data cannot add lines of its own), no runs of spaces, trimmed.
 */
function cleanValue(value: string | number): string {
  return String(value)
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Fills a template from data. Values are inserted in a single pass over the template's own text, so a
 * value that looks like a placeholder (`{code}`) stays literal text: data cannot reach the template syntax.
 * Every placeholder must have a non-empty value and every data key must be a placeholder.
 */
export function renderTemplate(name: string, data: TemplateData = {}): RenderedTemplate {
  const t = findTemplate(name);
  if (!t)
    throw new TemplateError('unknown_template', `no template "${name}"; GET /v1/templates lists them`, 'template');
  const fields = requiredFields(t);
  const unknown = Object.keys(data).find((k) => !fields.includes(k));
  if (unknown !== undefined) {
    throw new TemplateError(
      'invalid_template_data',
      `template "${name}" has no field "${unknown}"; it takes ${fields.join(', ')}`,
      `data.${unknown}`,
    );
  }
  const values = new Map<string, string>();
  for (const field of fields) {
    const raw = data[field];
    const value = raw === undefined ? '' : cleanValue(raw);
    if (value === '') {
      throw new TemplateError('missing_template_data', `template "${name}" needs data.${field}`, `data.${field}`);
    }
    if (value.length > MAX_TEMPLATE_VALUE_LENGTH) {
      throw new TemplateError(
        'invalid_template_data',
        `data.${field} is longer than ${MAX_TEMPLATE_VALUE_LENGTH} characters`,
        `data.${field}`,
      );
    }
    values.set(field, value);
  }
  const body = t.text.replace(PLACEHOLDER, (_, field: string) => values.get(field)!);
  return { name: t.name, category: t.category, body };
}
