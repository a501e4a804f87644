import { run } from './program.js';

// Exit explicitly: a keep-alive socket of the Twilio SDK must not hold a finished command open.
process.exit(await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }));
