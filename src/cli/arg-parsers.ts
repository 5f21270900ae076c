import { CommanderError, InvalidArgumentError } from 'commander';

/** A commander argument parser for a whole number in [min, max]; the message names the range. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Rows per second: any positive number. */
export function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of rows per second');
  return n;
}

export const parseBatchSize = wholeNumber(1, 100_000);

/**
 * A command refused for what the arguments mean (nothing to resume, a source that cannot split), not for how they
 * are written: the message alone, exit 2, without the usage text `cmd.error` adds (showHelpAfterError).
 */
export function refuse(message: string): never {
  console.error(message);
  throw new CommanderError(2, 'tidemark.refused', message);
}
