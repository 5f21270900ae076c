import { quoteIdent, splitTableName } from '../config/identifiers';
import type pg from 'pg';
import { PermanentError } from '../errors';

export class VerifyError extends PermanentError {
  override readonly name = 'VerifyError';
}

const pct = (f: number) => `${Number((f * 100).toFixed(2))}%`;

/**
 * The delete guard: a source read that silently returned too little must never empty a target. Permanent,
 * so a scheduled reconciliation fails at once (non-retryable) instead of retrying into the same numbers.
 */
export class TooManyDeletesError extends PermanentError {
  override readonly name = 'TooManyDeletesError';
  constructor(
    readonly integration: string,
    readonly rowsToDelete: number,
    readonly targetRows: number,
    readonly maxFraction: number,
  ) {
    super(
      `${integration}: refusing to delete ${rowsToDelete} of ${targetRows} target rows (${pct(targetRows ? rowsToDelete / targetRows : 1)}), ` +
        `more than deletes.maxFraction ${maxFraction} (${pct(maxFraction)}); nothing was deleted. If the source really lost those rows, ` +
        `list them with \`tidemark verify ${integration} --delete --dry-run\` and delete them with \`tidemark verify ${integration} --repair --delete --force\` ` +
        `(or raise deletes.maxFraction); otherwise check the source: a read that returns too little must never empty the target.`,
    );
  }
}

/** Another run holds the integration's lock: writing now would race it. Not permanent: it passes. */
export class IntegrationBusyError extends Error {
  override readonly name = 'IntegrationBusyError';
  constructor(readonly integration: string) {
    super(`integration "${integration}" is busy (a run is writing to the target): run verify again when it is done`);
  }
}

/** What a verify (or a ledger reconciliation) was doing on each side, to name the grant a refusal needs. */
export interface VerifySides {
  integration: string;
  source: { table: string; client: pg.Client };
  /** the target table (absent for the delivery ledger, whose state tables are tidemark's own) */
  target?: { table: string; client: pg.Client; repair: boolean; delete: boolean };
}

/**
 * PostgreSQL's "permission denied for table orders" names neither the side, the role nor the grant, and both sides'
 * tables may have that name (acceptance L): on a refusal (42501) each side's own session is asked what its role lacks
 * (has_*_privilege), and a VerifyError says which side, which role and which GRANTs. Undefined for any other error.
 */
export async function verifyPrivilegeError(err: unknown, sides: VerifySides): Promise<VerifyError | undefined> {
  if ((err as { code?: unknown } | null)?.code !== '42501') return undefined;
  // A policy's refusal, not a missing grant: no GRANT would help (the review).
  if (/row-level security/i.test((err as Error).message)) {
    return new VerifyError(
      `${sides.integration}: row-level security refused a row (${(err as Error).message}): verify compares and repairs whole tables, so its roles must see and write every row (a role with BYPASSRLS, or policies that let it) (the refused statement changed nothing)`,
      { cause: err },
    );
  }
  const { source: s, target: t } = sides;
  const targetPrivs = t ? ['SELECT', ...(t.repair ? ['INSERT', 'UPDATE'] : []), ...(t.delete ? ['DELETE'] : [])] : [];
  const lacks = [
    ...(await grantsLacking(s.client, s.table, ['SELECT'], 'the source')),
    ...(t ? await grantsLacking(t.client, t.table, targetPrivs, 'the target', t.delete) : []),
  ];
  const fix = lacks.length
    ? lacks.join('; ')
    : t
      ? `the roles have the grants on the source and target tables, so the refusal is elsewhere (tidemark's schema in the target database, a trigger, a function): see README › Production › Database privileges`
      : `the role has the grants on the source table, so the refusal is elsewhere (tidemark's schema in the state database, a trigger, a function): see README › Production › Database privileges`;
  return new VerifyError(`${sides.integration}: PostgreSQL refused a privilege (${(err as Error).message}): ${fix} (the refused statement changed nothing)`, { cause: err });
}

/** A name as it can be pasted into SQL: quoted when it is not plain lower case (a role "Analysts", a schema "my-data"). */
const RESERVED = new Set(['all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'both', 'case', 'cast', 'check', 'collate', 'column', 'constraint', 'create', 'current_user', 'default', 'desc', 'distinct', 'do', 'else', 'end', 'except', 'false', 'for', 'foreign', 'from', 'grant', 'group', 'having', 'in', 'into', 'leading', 'limit', 'not', 'null', 'offset', 'on', 'only', 'or', 'order', 'primary', 'references', 'select', 'session_user', 'some', 'table', 'then', 'to', 'true', 'union', 'unique', 'user', 'using', 'when', 'where', 'with']);
const ident = (n: string): string => (/^[a-z_][a-z0-9_]*$/.test(n) && !RESERVED.has(n) ? n : quoteIdent(n));

/** "the source public.orders refused the role r: GRANT …", or nothing (it has them all, or the session cannot say). */
async function grantsLacking(client: pg.Client, table: string, privs: string[], side: string, temporary = false): Promise<string[]> {
  const { schema, name } = splitTableName(table);
  try {
    // As JSON: tidemark's sessions return every value as text.
    const r = await client.query<{ j: string }>(
      // By oid from the catalogs: a name would be looked up in the schema, which a role without USAGE cannot.
      // TEMPORARY on the database: --delete lists the keys to delete in a temporary table.
      `SELECT json_build_object('usage', has_schema_privilege(n.oid, 'USAGE'), 'missing', array(SELECT p FROM unnest($3::text[]) p WHERE NOT has_table_privilege(c.oid, p)),
                               'temporary', NOT $4::boolean OR has_database_privilege(current_database(), 'TEMPORARY'), 'database', current_database())::text AS j
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1::text AND c.relname = $2::text`,
      [schema, name, privs, temporary],
    );
    if (!r.rows[0]) return [];
    const { usage, missing, temporary: temp, database } = JSON.parse(r.rows[0].j) as { usage: boolean; missing: string[]; temporary: boolean; database: string };
    const role = client.user ?? 'its role';
    const who = client.user ? ident(client.user) : role;
    const grants = [...(usage ? [] : [`GRANT USAGE ON SCHEMA ${ident(schema)} TO ${who}`]), ...(missing.length ? [`GRANT ${missing.join(', ')} ON ${ident(schema)}.${ident(name)} TO ${who}`] : []), ...(temp ? [] : [`GRANT TEMPORARY ON DATABASE ${ident(database)} TO ${who}`])];
    return grants.length ? [`${side} ${table} refused the role ${role}: ${grants.join(' and ')}`] : [];
  } catch (err) {
    // Said, not dropped: the message would otherwise claim the roles have every grant (the review).
    return [`could not ask ${side} which grants its role lacks (${(err as Error).message})`];
  }
}
