/**
 * Copies the OpenAPI schemas the contract test checks out of Twilio's v2010 document into a committed fixture,
 * with every $ref inlined, so clones without the reference document can still run the test.
 *
 *   npx tsx packages/twilio-sim/scripts/extract-schemas.ts path/to/twilio_api_v2010.json
 *
 * The document is twilio_api_v2010.json from Twilio's public twilio-oai repository (docs/design.md, Sources).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const source = process.argv[2];
if (!source) {
  process.stderr.write('usage: extract-schemas.ts path/to/twilio_api_v2010.json\n');
  process.exit(2);
}
const target = fileURLToPath(new URL('../test/fixtures/twilio-schemas.json', import.meta.url));

const RESOURCES = [
  'api.v2010.account',
  'api.v2010.account.balance',
  'api.v2010.account.incoming_phone_number',
  'api.v2010.account.message',
];
const LIST_PAGES: Record<string, string> = {
  ListMessageResponse: '/2010-04-01/Accounts/{AccountSid}/Messages.json',
  ListIncomingPhoneNumberResponse: '/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json',
};

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(root: Json, path: string[]): Json {
  let node: Json | undefined = root;
  for (const key of path) {
    node = isObject(node) ? node[key] : undefined;
    if (node === undefined) throw new Error(`${source} has no ${path.join(' → ')}`);
  }
  return node;
}

/** Inlines `#/...` references; the 2010 resource schemas only refer to enums, so there are no cycles. */
function resolve(document: Json, node: Json): Json {
  if (Array.isArray(node)) return node.map((item) => resolve(document, item));
  if (!isObject(node)) return node;
  const ref = node.$ref;
  if (typeof ref === 'string') return resolve(document, at(document, ref.replace(/^#\//, '').split('/')));
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    // Descriptions and vendor annotations make the fixture large without adding anything testable.
    if (key !== 'description' && !key.startsWith('x-')) out[key] = resolve(document, value);
  }
  return out;
}

const document = JSON.parse(readFileSync(source, 'utf8')) as Json;
const schemas: Record<string, Json> = {};
for (const name of RESOURCES) schemas[name] = resolve(document, at(document, ['components', 'schemas', name]));
for (const [name, path] of Object.entries(LIST_PAGES)) {
  const schema = at(document, ['paths', path, 'get', 'responses', '200', 'content', 'application/json', 'schema']);
  schemas[name] = resolve(document, schema);
}
writeFileSync(
  target,
  `${JSON.stringify({ source: 'twilio/twilio-oai spec/json/twilio_api_v2010.json', schemas }, null, 2)}\n`,
);
console.log(`wrote ${Object.keys(schemas).length} schemas to ${target}`);
