// `npm start`: migrate, then run the API and a worker, plus the Twilio simulator when no real Twilio
// credentials are configured, each from its bundle in dist/ (`npm run build`, done here first when dist/ is
// missing or older than the sources) with the node flags of its `start:*:dist` script. One process group;
// Ctrl-C or SIGTERM stops all of it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import concurrently from 'concurrently';
import { buildIfStale } from './build.mjs';

const env = { ...process.env };
const commands = [];
if (!env.TWILIO_ACCOUNT_SID || !env.TWILIO_AUTH_TOKEN) {
  const simPort = env.SIM_PORT ?? '4010';
  env.TWILIO_ACCOUNT_SID = 'AC00000000000000000000000000000000';
  env.TWILIO_AUTH_TOKEN = '00000000000000000000000000000000';
  env.TWILIO_API_BASE_URL ??= `http://127.0.0.1:${simPort}`;
  env.TWILIO_PHONE_NUMBER ??= '+15005550006';
  commands.push({ command: 'npm run -s start:sim:dist', name: 'sim', env });
  console.log(`No Twilio credentials: sending through the simulator on :${simPort}.`);
}
if (!env.OTP_SECRET && env.NODE_ENV !== 'production') {
  // The worker opens the OTP texts the API sealed: both need the same secret, so this run draws one.
  env.OTP_SECRET = randomBytes(32).toString('hex');
  console.log('No OTP_SECRET: using one drawn for this run (codes sent before a restart will not verify).');
}
if (!env.API_KEYS)
  console.warn('API_KEYS is not set: every /v1 request will be refused (set e.g. API_KEYS=local:secret).');

if (await buildIfStale()) console.log('Built dist/ (npm run build).');
const migrate = spawnSync('npm', ['run', '-s', 'db:migrate'], { stdio: 'inherit', env });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

commands.push(
  { command: 'npm run -s start:api:dist', name: 'api', env },
  { command: 'npm run -s start:worker:dist', name: 'worker', env },
);
const { result } = concurrently(commands, { killOthersOn: ['failure'], prefixColors: ['blue', 'green', 'magenta'] });
result.then(
  () => process.exit(0),
  () => process.exit(1),
);
