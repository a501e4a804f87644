import { CATEGORIES } from '@smsq/shared';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ApiOptions } from './api-client.js';
import { accountInfo } from './commands/account-info.js';
import {
  createKey,
  createService,
  listKeys,
  listServices,
  revokeKey,
  type CreateKeyOptions,
  type CreateServiceOptions,
} from './commands/access.js';
import { checkSetup } from './commands/check-setup.js';
import { phoneNumbers } from './commands/phone-numbers.js';
import { send, type SendOptions } from './commands/send.js';
import { test2fa } from './commands/test-2fa.js';
import { testNotification, type TestNotificationOptions } from './commands/test-notification.js';
import {
  DELIVERY_STATES,
  listDeliveries,
  listWebhooks,
  replayDead,
  testWebhook,
  type DeliveriesOptions,
  type ReplayOptions,
  type TestWebhookOptions,
} from './commands/webhooks.js';
import { Failure } from './failure.js';
import { EXIT, EXIT_CODES_HELP, Output, type Io } from './io.js';

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError('give a number of seconds above 0');
  return seconds;
}

function keyValue(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('give key=value');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('give a whole number above 0');
  return n;
}

const repeated = (value: string, previous: string[] = []) => [...previous, value];

/** --api-url and --api-key, for the commands that call the API. */
function withApi(command: Command): Command {
  return command
    .option('--api-url <url>', 'the smsq API (default: $SMSQ_API_URL or http://localhost:3000)')
    .option('--api-key <secret>', 'an API key (default: $SMSQ_API_KEY); admin commands need the admin scope');
}

/** --api-url, --api-key and --timeout, for the commands that go through the API and wait. */
function throughApi(command: Command): Command {
  return command
    .option('--api-url <url>', 'the smsq API (default: $SMSQ_API_URL or http://localhost:3000)')
    .option('--api-key <secret>', 'an API key from API_KEYS (default: $SMSQ_API_KEY)')
    .option('--timeout <seconds>', 'how long to wait for a final status', positiveSeconds, 60);
}

/**
 * The smsq CLI, runnable in-process: argv without the node and script parts, the streams and
 * environment to use; resolves to the exit code.
 */
export async function run(argv: string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('smsq')
    .description('Check, explore and try out an smsq installation')
    .option('--json', 'print one JSON object on stdout instead of text')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  /** Runs a command's task; expected failures become their plain reason and exit code. */
  const act =
    <O extends object>(task: (out: Output, opts: O, args: string[]) => Promise<number>) =>
    async (...actionArgs: unknown[]) => {
      // Commander calls actions with (...arguments, options, command).
      const command = actionArgs.at(-1) as Command;
      const out = new Output(io, command.optsWithGlobals<{ json?: boolean }>().json === true);
      try {
        exitCode = await task(out, command.opts<O>(), command.processedArgs as string[]);
      } catch (err) {
        if (!(err instanceof Failure)) throw err;
        out.problem(`smsq ${command.name()}: ${err.message}`);
        out.result({ ok: false, error: { message: err.message, ...err.details } });
        exitCode = err.exitCode;
      }
    };

  program
    .command('check-setup')
    .description(
      'check every setting, Redis, Postgres, the Twilio credentials and the sender; stop at the first failure',
    )
    .action(act((out) => checkSetup(io, out)));

  program
    .command('account-info')
    .description("show the Twilio account's name, status, type and balance")
    .action(act((out) => accountInfo(io, out)));

  program
    .command('phone-numbers')
    .description("list the Twilio account's phone numbers and what they can do")
    .action(act((out) => phoneNumbers(io, out)));

  throughApi(
    program
      .command('send')
      .description('send a message through the API and the queue, and wait for its final status')
      .requiredOption('--to <E.164>', 'recipient, e.g. +14155552671')
      .option('--body <text>', 'message text', 'Test message from smsq')
      .addOption(new Option('--category <category>', 'message category').choices(CATEGORIES)),
  ).action(act((out, opts: SendOptions) => send(io, out, opts)));

  throughApi(
    program
      .command('test-2fa')
      .description('send the user a one-time code (purpose test_2fa) and wait for its SMS')
      .argument('<userId>', 'a recipient stored with PUT /v1/recipients/:userId'),
  ).action(act((out, opts: ApiOptions & { timeout: number }, [userId]) => test2fa(io, out, userId!, opts)));

  throughApi(
    program
      .command('test-notification')
      .description('send the user a security_alert notification and wait for it')
      .argument('<userId>', 'a recipient stored with PUT /v1/recipients/:userId')
      .option('--body <text>', 'send this text instead of the template')
      .option('--data <key=value>', 'a template field (repeatable)', keyValue, {}),
  ).action(act((out, opts: TestNotificationOptions, [userId]) => testNotification(io, out, userId!, opts)));

  const services = program.command('services').description('calling services (an API key with the admin scope)');
  withApi(
    services
      .command('create')
      .description('create a calling service')
      .argument('<name>', 'letters, digits, . _ -')
      .option('--daily-segment-limit <n>', 'segments per UTC day (live traffic, OTPs included)', positiveInteger)
      .option('--from <E.164>', "the service's own sender number")
      .option('--messaging-service-sid <MG…>', "the service's own Messaging Service"),
  ).action(act((out, opts: CreateServiceOptions, [name]) => createService(io, out, name!, opts)));
  withApi(services.command('list').description('list the calling services')).action(
    act((out, opts: ApiOptions) => listServices(io, out, opts)),
  );

  const keys = program.command('keys').description("a service's API keys (an API key with the admin scope)");
  withApi(
    keys
      .command('create')
      .description('create a key for a service and print it once')
      .argument('<service>', 'the service, by name or id')
      .addOption(
        new Option('--type <type>', 'live, or test (never reaches Twilio)').choices(['live', 'test']).default('live'),
      )
      .requiredOption('--scope <scope>', 'a scope the key has (repeatable), e.g. messages:send', repeated)
      .option('--expires-at <time>', 'an ISO 8601 time after which the key is refused')
      .option('--description <text>', 'what the key is for'),
  ).action(act((out, opts: CreateKeyOptions, [service]) => createKey(io, out, service!, opts)));
  withApi(
    keys.command('list').description("list a service's keys (never their secrets)").argument('<service>', 'name or id'),
  ).action(act((out, opts: ApiOptions, [service]) => listKeys(io, out, service!, opts)));
  withApi(keys.command('revoke').description('revoke a key').argument('<keyId>', 'the key id (16 hex digits)')).action(
    act((out, opts: ApiOptions, [keyId]) => revokeKey(io, out, keyId!, opts)),
  );

  const webhooks = program
    .command('webhooks')
    .description("the key's webhook endpoints and their deliveries (an API key with the webhooks scope)");
  withApi(webhooks.command('list').description("list the key's webhook endpoints (never their secrets)")).action(
    act((out, opts: ApiOptions) => listWebhooks(io, out, opts)),
  );
  withApi(
    webhooks
      .command('test')
      .description('send an endpoint a webhook.test event and wait for its first attempt')
      .argument('<endpointId>', 'from smsq webhooks list')
      .option('--timeout <seconds>', 'how long to wait for the attempt', positiveSeconds, 30),
  ).action(act((out, opts: TestWebhookOptions, [id]) => testWebhook(io, out, id!, opts)));
  withApi(
    webhooks
      .command('deliveries')
      .description("list an endpoint's deliveries, newest first")
      .argument('<endpointId>', 'from smsq webhooks list')
      .addOption(new Option('--status <state>', 'only deliveries in this state').choices(DELIVERY_STATES))
      .option('--limit <n>', 'at most this many (up to 100)', positiveInteger),
  ).action(act((out, opts: DeliveriesOptions, [id]) => listDeliveries(io, out, id!, opts)));
  withApi(
    webhooks
      .command('replay')
      .description("send an endpoint's dead deliveries again, those created since a time")
      .argument('<endpointId>', 'from smsq webhooks list')
      .requiredOption('--since <time>', 'an ISO 8601 time, e.g. 2026-12-07T00:00:00Z')
      .option('--until <time>', 'and before this ISO 8601 time'),
  ).action(act((out, opts: ReplayOptions, [id]) => replayDead(io, out, id!, opts)));

  for (const command of [program, ...program.commands, ...services.commands, ...keys.commands, ...webhooks.commands]) {
    command.addHelpText('after', EXIT_CODES_HELP);
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help and version end "successfully"; everything else commander refuses is a usage error.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return exitCode;
}
