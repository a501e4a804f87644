import { MAGIC_VALID_FROM } from './create-params.js';
import { buildSim } from './index.js';

// Fake but well-formed credentials, so the sim runs with no setup.
const DEFAULT_ACCOUNT_SID = 'ACc0ffee00000000000000000000000000';
const DEFAULT_AUTH_TOKEN = 'c0ffeec0ffeec0ffeec0ffeec0ffee00';

function integerEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text)) {
    console.error(`${name} must be a non-negative integer, got ${text}`);
    process.exit(1);
  }
  return Number(text);
}

const ownNumber = process.env.TWILIO_PHONE_NUMBER;
const sim = await buildSim({
  accountSid: process.env.TWILIO_ACCOUNT_SID || DEFAULT_ACCOUNT_SID,
  authToken: process.env.TWILIO_AUTH_TOKEN || DEFAULT_AUTH_TOKEN,
  phoneNumbers: ownNumber ? [MAGIC_VALID_FROM, ownNumber] : [MAGIC_VALID_FROM],
  callbackDelayMs: integerEnv('SIM_CALLBACK_DELAY_MS', 20),
});
const address = await sim.app.listen({ port: integerEnv('SIM_PORT', 4010), host: process.env.HOST || '0.0.0.0' });
console.log(`twilio-sim listening on ${address}`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0));
  });
}
