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

/**
 * What is wrong with a URL's user name or password, or undefined: a reserved character written as it is. An
 * acceptance run used `postgres://u:p@ss/w%rd:x@host/db`: the URL ends its host at the `/`, so it connected to host
 * "ss" and the error named "ss:5432/w%rd:x@host/db", most of the password. Nothing of the value goes in the answer.
 */
export function urlUserinfoProblem(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)([\s\S]*)$/i.exec(url);
  if (!m) return undefined;
  const [, , path = '', after = ''] = m;
  // A password holding "/" leaves its "@host" in the path; one holding "?" or "#" leaves it in the query or fragment,
  // before any "=" or "&" (a parameter's value may hold an "@": ?user=sa@project.iam). A bare "%" is fine: the
  // driver encodes it.
  if (!path.includes('@') && !/^[?#][^=&]*@/.test(after)) return undefined;
  return 'its user name or password holds a character that must be percent-encoded (/ ? # as %2F %3F %23, and @ % as %40 %25: encodeURIComponent(password))';
}

/** A URL whose user name or password needs percent-encoding (see urlUserinfoProblem); the value is never shown. */
export class UrlUserinfoError extends PermanentError {
  override readonly name = 'UrlUserinfoError';
  constructor(readonly field: string, problem: string) {
    super(`${field}: ${problem}; the value is not shown: it may hold a password`);
  }
}
