import type { Command } from 'commander';

/** One line per command; each lives in its own file. */
export function registerCommands(program: Command): void {
  void program;
}
