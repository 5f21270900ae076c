import { z } from 'zod';
import { PermanentError, UrlUserinfoError, urlUserinfoProblem } from '../errors';
import { resolveEnvRefs } from './env-refs';

const PG_URL = /^postgres(ql)?:\/\/\S/;
const EXAMPLE = 'postgres://user:password@host:5432/database';

/**
 * A PostgreSQL connection URL as the config writes it: `postgres://…` (or `postgresql://…`), possibly holding
 * `${NAME}` references, or one reference for the whole URL. Found by an acceptance run: "not a url" and an unclosed
 * `${SOURCE_DATABASE_URL` passed, and every run then retried `getaddrinfo ENOTFOUND base` without naming the field.
 */
export const pgUrl = z.string().min(1, 'must not be empty').superRefine((v, ctx) => {
  const unclosed = /\$\{(?![A-Za-z_][A-Za-z0-9_.]*\})/.exec(v);
  if (unclosed) ctx.addIssue({ code: 'custom', message: `has a "\${" without its closing "}" (at character ${unclosed.index + 1}): write \${NAME}` });
  else if (!v.startsWith('${') && !PG_URL.test(v)) ctx.addIssue({ code: 'custom', message: `must be a PostgreSQL URL (${EXAMPLE}) or \${NAME} of a variable holding one` });
  else if (!v.includes('${') && urlUserinfoProblem(v)) ctx.addIssue({ code: 'custom', message: `${urlUserinfoProblem(v)} (the value is not shown: it may hold a password)` });
});

/** A URL field whose `${NAME}` resolved to something that is not a PostgreSQL URL. */
export class NotPgUrlError extends PermanentError {
  override readonly name = 'NotPgUrlError';
  constructor(readonly field: string) {
    super(`${field} is not a PostgreSQL URL once its \${…} references are filled in: it must read ${EXAMPLE} (the value is not shown: it may hold a password)`);
  }
}

/** `value` with its references resolved from `env`, checked to be a PostgreSQL URL (else NotPgUrlError naming `field`). */
export function resolvePgUrl(value: string, field: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = resolveEnvRefs(value, field, env);
  if (!PG_URL.test(url)) throw new NotPgUrlError(field);
  const problem = urlUserinfoProblem(url);
  if (problem) throw new UrlUserinfoError(field, problem);
  return url;
}
