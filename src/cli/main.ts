import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands';

/** Entry point of `tidemark`; every command registers itself in ./commands.ts. */
export async function main(argv: string[]): Promise<void> {
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
