import { CommanderError } from 'commander';

/**
 * A command refused for what the arguments mean (nothing to resume, a source that cannot split), not for how they
 * are written: the message alone, exit 2, without the usage text `cmd.error` adds (showHelpAfterError).
 */
export function refuse(message: string): never {
  console.error(message);
  throw new CommanderError(2, 'tidemark.refused', message);
}
