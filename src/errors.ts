/**
 * Errors that retrying cannot fix (bad config, missing table, bad cursor). Activities turn them into
 * ApplicationFailure.nonRetryable with the class name as the type, so the run fails at once with the
 * message; everything else (connections, timeouts) is retried with backoff from the checkpoint.
 */
export class PermanentError extends Error {}

// PostgreSQL SQLSTATEs that mean "fix the setup", not "try again": auth, missing database/objects, types, and a
// cardinality violation (21000: one page holds a sink key twice where the source's keys were taken as unique, e.g.
// the rows of a parent table's INHERITS children), which the same page would hit on every retry.
const PERMANENT_SQLSTATE = /^(28|3D|3F|42|22|21)/;

export function isPermanent(err: unknown): boolean {
  if (err instanceof PermanentError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && PERMANENT_SQLSTATE.test(code);
}
