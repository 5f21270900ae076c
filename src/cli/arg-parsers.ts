import { InvalidArgumentError } from 'commander';

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
