import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands';

let pipesGuarded = false;

/** Entry point of `tidemark`; every command registers itself in ./commands.ts. */
export async function main(argv: string[]): Promise<void> {
  // `tidemark status … | head`: the reader went away. End as a command killed by SIGPIPE does (141, no stack trace);
  // not 0: a worker logging into a pipe that broke must not look like one that stopped cleanly.
  if (!pipesGuarded) for (const out of [process.stdout, process.stderr]) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(141);
    });
  }
  pipesGuarded = true;
  const program = new Command('tidemark')
    .description('Resumable cursor syncs and backfills into PostgreSQL on Temporal')
    .option('--config <file>', 'config file (default tidemark.yaml, then tidemark.json)')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}
