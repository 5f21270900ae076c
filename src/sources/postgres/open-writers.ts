import type pg from 'pg';
import { quoteTable, type QualifiedName } from '../../config/identifiers';
import type { HighWaterQuery } from './naive-time';
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
 * (its pid, or a prepared transaction's gid): the run's range ends before it began (heldBefore), or, when that cannot
 * be known, a run warning says its rows will be missed unless `lag` covers it.
 * Not covered: a transaction that began earlier but has not written the table yet (lag is the guard there).
 */
export async function waitForOpenWriters(client: pg.Client, table: QualifiedName, waitMs: number, signal?: AbortSignal, onWait?: (who: string[]) => void): Promise<OpenWriter[]> {
  if (waitMs <= 0) return [];
  let open = await writing(client, table);
  const deadline = Date.now() + waitMs;
  if (open.length && onWait) onWait((await named(client, open)).map((w) => w.name));
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

/** The transactions writing the table now, named: with source.writersWait 0 there is no wait, but a warning. */
export async function openWritersNow(client: pg.Client, table: QualifiedName): Promise<OpenWriter[]> {
  const open = await writing(client, table);
  return open.length ? named(client, open) : [];
}

async function writing(client: pg.Client, table: QualifiedName): Promise<{ vxid: string; pid: number | null }[]> {
  // The table and its partitions and INHERITS children (a read of it reads theirs; a writer of a partition alone
  // never locks the parent), in this database: table oids repeat in a database cloned from it.
  const r = await client.query<{ vxid: string; pid: number | null }>(
    `WITH RECURSIVE tree(oid) AS (SELECT to_regclass($1::text)::oid UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid)
     SELECT DISTINCT virtualtransaction AS vxid, pid FROM pg_locks
      WHERE locktype = 'relation' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND relation IN (SELECT oid FROM tree) AND mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
        AND granted AND pid IS DISTINCT FROM pg_backend_pid()`,
    [quoteTable(table)],
  );
  return r.rows;
}

/** A transaction writing the table: its session's pid (null for a prepared transaction) and how a warning names it. */
export interface OpenWriter {
  vxid: string;
  pid: number | null;
  name: string;
}

/** Who the open writers are: a session's pid, or a prepared transaction's gid (it has no session: COMMIT PREPARED ends it). */
async function named(client: pg.Client, open: { vxid: string; pid: number | null }[]): Promise<OpenWriter[]> {
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
  return open.map((w) => ({ ...w, name: w.pid !== null ? `pid ${w.pid}` : gids.has(w.vxid) ? `prepared transaction ${JSON.stringify(gids.get(w.vxid))}` : 'a prepared transaction' }));
}

/**
 * The range's end held before the writers still open: `now() - lag` with the start of the oldest of them for now().
 * A row stamped by now() (a DEFAULT, a trigger) carries its transaction's start, so none of their rows falls behind
 * the cursor; the next run reads on from there, and a transaction that stays open holds every run at its start.
 * Undefined when their starts are not known: a prepared transaction (only its PREPARE time is kept), or a session of
 * another role whose xact_start this role may not see (pg_read_all_stats). `hw` is the run's high-water query, so
 * the end is on the first cursor column's own clock (a timestamp without time zone in source.timeZone).
 */
export async function heldBefore(client: pg.Client, open: OpenWriter[], hw: HighWaterQuery, highWater: string): Promise<string | undefined> {
  if (open.some((w) => w.pid === null)) return undefined;
  const [lag, zone] = hw.values;
  const start = zone === undefined ? 'min(a.xact_start)' : '(min(a.xact_start) AT TIME ZONE $4::text)';
  // A day: the day the writer began in (less lag), so its rows of that day wait for the next run.
  const held = hw.clock === 'date' ? `(${start} - $1::interval)::date` : `${start} - $1::interval`;
  // state is NULL for a session this role may not see, 'disabled' with track_activities off: its start is unknown,
  // so no hold (the warning says its rows may be missed). A visible one whose transaction ended is idle (no start).
  const r = await client.query<{ hw: string; hidden: string }>(
    `SELECT least($2::${hw.clock}, ${held})::text AS hw, coalesce(bool_or(a.state IS NULL OR (a.xact_start IS NULL AND a.state <> 'idle')), false)::text AS hidden
       FROM pg_stat_activity a WHERE a.pid = ANY($3::int[])`,
    [lag, highWater, open.map((w) => w.pid), ...(zone === undefined ? [] : [zone])],
  );
  const row = r.rows[0];
  return !row || row.hidden === 'true' ? undefined : row.hw;
}

const whoOf = (open: OpenWriter[]) => `${open.slice(0, 5).map((w) => w.name).join(', ')}${open.length > 5 ? ', …' : ''}`;
const waited = (open: OpenWriter[], table: string, waitMs: number) =>
  waitMs <= 0
    ? `${open.length} transaction(s) writing ${table} were open when this run started, and source.writersWait is 0, so it neither waited for them nor held its range before them (${whoOf(open)})`
    : `${open.length} transaction(s) writing ${table} were still open after this run waited ${Number((waitMs / 1000).toFixed(1))} s for them (${whoOf(open)})`;

/** The run warning for writers still open after the wait, whose rows this run may miss (see heldBefore). */
export function openWritersWarning(table: string, open: OpenWriter[], waitMs: number, highWater: string | null, role?: string): string {
  const below = highWater === null ? 'cursor values this run reads past' : `a cursor value this run reads past (up to ${highWater})`;
  const hold =
    highWater !== null && role && open.every((w) => w.pid !== null)
      ? `; the run would read only up to their start instead if its role could see when they began (GRANT pg_read_all_stats TO ${role})`
      : '';
  // No clock (an id first): neither lag nor a hold can keep a range short of them (lag is refused for such a column).
  const fix =
    highWater === null
      ? 'The first cursor column has no clock, so neither source.lag nor a hold can cover them: put a timestamp column first (e.g. [updated_at, id]) and set source.lag, or raise source.writersWait above how long they last'
      : 'A source.lag longer than such transactions last covers them';
  return `${waited(open, table, waitMs)}: rows they commit later with ${below} would be missed by incremental syncs${hold}. ${fix}; \`tidemark verify\` finds rows missed`;
}

/** The run warning for writers still open after the wait, which the run's range ends before (see heldBefore). */
export function heldBackWarning(table: string, open: OpenWriter[], waitMs: number, firstColumn: string, held: string, highWater: string): string {
  return (
    `${waited(open, table, waitMs)}: so that the rows they commit later are not missed, this run reads only up to ${firstColumn} < ${held} ` +
    `(the start of the oldest, less source.lag), not ${highWater}; a later run reads on once they end, and one that stays open holds every run there`
  );
}
