import type pg from 'pg';
import { quoteTable, type QualifiedName } from '../../config/identifiers';
import { abortError } from '../../util/abort-error';
import { sleep } from '../../util/sleep';

/**
 * Late commits. A transaction that has written the source table and is still open when a run starts commits its
 * rows later, with cursor values it took before: `updated_at DEFAULT now()` is its start time, a serial id was
 * drawn at its insert. A run that read past those values first would never read the rows (the classic gap of
 * cursor polling). So before it reads, a run waits for the transactions holding a write lock on the table to end,
 * and their rows are visible to its read. pg_locks needs no privilege (unlike other roles' xact_start).
 *
 * Bounded by `waitMs`: a transaction still open then (a long batch job, a session idle in transaction) is returned
 * (its pid, or a prepared transaction's gid) for a run warning: its rows will be missed unless `lag` covers it.
 * Not covered: a transaction that began earlier but has not written the table yet (lag is the guard there).
 */
export async function waitForOpenWriters(client: pg.Client, table: QualifiedName, waitMs: number, signal?: AbortSignal, onWait?: (who: string[]) => void): Promise<string[]> {
  if (waitMs <= 0) return [];
  // The table and its partitions and INHERITS children (a read of it reads theirs; a writer of a partition alone
  // never locks the parent), in this database: table oids repeat in a database cloned from it.
  const r = await client.query<{ vxid: string; pid: number | null }>(
    `WITH RECURSIVE tree(oid) AS (SELECT to_regclass($1::text)::oid UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid)
     SELECT DISTINCT virtualtransaction AS vxid, pid FROM pg_locks
      WHERE locktype = 'relation' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND relation IN (SELECT oid FROM tree) AND mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
        AND granted AND pid IS DISTINCT FROM pg_backend_pid()`,
    [quoteTable(table)],
  );
  let open = r.rows;
  const deadline = Date.now() + waitMs;
  if (open.length && onWait) onWait(await named(client, open));
  for (let pause = 20; open.length; pause = Math.min(pause * 2, 500)) {
    if (Date.now() >= deadline) return named(client, open);
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())), signal);
    // A cancel ends the wait (it lasts up to a minute), before anything of the run is written.
    if (signal?.aborted) throw abortError(signal);
    // A transaction holds locks until it ends: still listed under its virtual transaction id, still open.
    const still = await client.query<{ vxid: string }>(`SELECT DISTINCT virtualtransaction AS vxid FROM pg_locks WHERE virtualtransaction = ANY($1::text[])`, [open.map((w) => w.vxid)]);
    const left = new Set(still.rows.map((x) => x.vxid));
    open = open.filter((w) => left.has(w.vxid));
  }
  return [];
}

/** Who the open writers are: a session's pid, or a prepared transaction's gid (it has no session: COMMIT PREPARED ends it). */
async function named(client: pg.Client, open: { vxid: string; pid: number | null }[]): Promise<string[]> {
  const prepared = open.filter((w) => w.pid === null).map((w) => w.vxid);
  const gids = new Map<string, string>();
  if (prepared.length) {
    const r = await client.query<{ vxid: string; gid: string }>(
      `SELECT l.virtualtransaction AS vxid, p.gid FROM pg_locks l JOIN pg_prepared_xacts p ON l.locktype = 'transactionid' AND l.transactionid = p.transaction
        WHERE l.virtualtransaction = ANY($1::text[])`,
      [prepared],
    );
    for (const row of r.rows) gids.set(row.vxid, row.gid);
  }
  return open.map((w) => (w.pid !== null ? `pid ${w.pid}` : gids.has(w.vxid) ? `prepared transaction ${JSON.stringify(gids.get(w.vxid))}` : 'a prepared transaction'));
}

/** The run warning for writers still open after the wait. */
export function openWritersWarning(table: string, who: string[], waitMs: number, highWater: string | null): string {
  const below = highWater === null ? 'cursor values this run reads past' : `a cursor value this run reads past (up to ${highWater})`;
  return (
    `${who.length} transaction(s) writing ${table} were still open after this run waited ${Number((waitMs / 1000).toFixed(1))} s for them (${who.slice(0, 5).join(', ')}${who.length > 5 ? ', …' : ''}): ` +
    `rows they commit later with ${below} would be missed by incremental syncs. A source.lag longer than such transactions last covers them; \`tidemark verify\` finds rows missed`
  );
}
