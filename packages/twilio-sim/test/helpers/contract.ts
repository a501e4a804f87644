import { readFileSync } from 'node:fs';

/** The subset of OpenAPI 3.0 schema keywords Twilio's v2010 resource schemas use. */
export interface Schema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  nullable?: boolean;
  pattern?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, Schema>;
  items?: Schema;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/twilio-schemas.json', import.meta.url), 'utf8')) as {
  schemas: Record<string, Schema>;
};

export function schema(name: string): Schema {
  const found = fixture.schemas[name];
  if (!found) throw new Error(`fixture has no schema ${name}; rerun scripts/extract-schemas.ts`);
  return found;
}

function typeMatches(type: Schema['type'], value: unknown): boolean {
  switch (type) {
    case undefined:
      return true;
    case 'integer':
      return Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}

/**
 * Lists how `value` breaks `schema`. Every declared property must be present (Twilio always sends them all,
 * null when empty); null is allowed only where the schema says nullable.
 */
export function contractViolations(schemaOf: Schema, value: unknown, path = '$'): string[] {
  if (value === null) return schemaOf.nullable ? [] : [`${path}: null but not nullable`];
  if (value === undefined) return [`${path}: missing`];
  if (!typeMatches(schemaOf.type, value)) return [`${path}: expected ${schemaOf.type}, got ${JSON.stringify(value)}`];
  const problems: string[] = [];
  if (schemaOf.enum && !schemaOf.enum.includes(value)) problems.push(`${path}: ${String(value)} not in enum`);
  if (typeof value === 'string') {
    if (schemaOf.pattern && !new RegExp(schemaOf.pattern).test(value)) {
      problems.push(`${path}: ${value} does not match ${schemaOf.pattern}`);
    }
    if (schemaOf.minLength !== undefined && value.length < schemaOf.minLength) problems.push(`${path}: too short`);
    if (schemaOf.maxLength !== undefined && value.length > schemaOf.maxLength) problems.push(`${path}: too long`);
  }
  if (schemaOf.properties && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const [key, property] of Object.entries(schemaOf.properties)) {
      problems.push(...contractViolations(property, record[key], `${path}.${key}`));
    }
  }
  if (schemaOf.items && Array.isArray(value)) {
    value.forEach((item, index) =>
      problems.push(...contractViolations(schemaOf.items ?? {}, item, `${path}[${index}]`)),
    );
  }
  return problems;
}
