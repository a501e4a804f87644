import { createServer } from 'node:net';
import { run } from '../src/program.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI in-process, with captured output and an environment of the test's own. */
export async function cli(argv: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const out = { stdout: '', stderr: '' };
  const code = await run(argv, {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env,
  });
  return { code, ...out };
}

/** A port nothing listens on: taken from the OS, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
