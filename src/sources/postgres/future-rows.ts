import type pg from 'pg';
import { quoteIdent, quoteTable, type QualifiedName } from '../../config/identifiers';
import type { KeysetColumn } from '../../cursor/keyset-sql';
import type { HighWaterQuery } from './naive-time';

/** How long the count may take: through the keyset index it is a few ms; without one it is skipped, not a scan. */
const PROBE_MS = 2_000;
const COUNT_UP_TO = 1_000;

/**
 * Rows whose first cursor column lies ahead of now (a wrong clock, a placeholder such as 'infinity'): a run reads
 * up to now - lag, so they wait until that time has passed ('infinity': for ever), and nothing else would say so
 * (an acceptance run: a backfill "done" without them, `verify` finding them missing). Counted up to 1,000 through
 * the keyset index; undefined when there are none, the column has no clock, or the count would scan (no index: the
 * keyset index warning says so already).
 */
export async function futureRowsWarning(client: pg.Client, table: QualifiedName, first: KeysetColumn, hw: HighWaterQuery | null): Promise<string | undefined> {
  if (!hw) return undefined;
  // One round trip (a run's start-up): the zone inlined as a literal, as the script takes no parameters. A day is
  // ahead once it has begun nowhere yet: with no zone configured, past the day in UTC+14 (Etc/GMT-14).
  const zoneName = hw.zone ? (hw.zone.assumed ? 'Etc/GMT-14' : hw.zone.name) : undefined;
  const at = zoneName === undefined ? 'now()' : `(now() AT TIME ZONE '${zoneName.replace(/'/g, "''")}')`;
  const ahead = hw.clock === 'date' ? `${at}::date` : `${at} + interval '1 minute'`;
  const col = quoteIdent(first.name);
  try {
    const results = (await client.query(
      `BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL statement_timeout = ${PROBE_MS};
       SELECT count(*)::int AS n, max(${col})::text AS top FROM (SELECT ${col} FROM ${quoteTable(table)} WHERE ${col} > ${ahead} LIMIT ${COUNT_UP_TO + 1}) x;
       ROLLBACK`,
    )) as unknown as pg.QueryResult<{ n: string; top: string | null }>[];
    const r = results.find((x) => x.command === 'SELECT') as pg.QueryResult<{ n: string; top: string | null }>;
    // The source session reads every value as text.
    const n = Number(r.rows[0]?.n ?? 0);
    const top = r.rows[0]?.top ?? null;
    if (!n) return undefined;
    const count = n > COUNT_UP_TO ? `more than ${COUNT_UP_TO.toLocaleString('en-US')} rows` : `${n} row${n === 1 ? '' : 's'}`;
    return (
      `${count} of ${table.schema}.${table.name} ${n === 1 ? 'has' : 'have'} ${first.name} ahead of now (the latest ${top}): a run reads rows up to now - lag only, ` +
      `so ${n === 1 ? 'it waits' : 'they wait'} until that time has passed${top === 'infinity' ? " ('infinity': for ever)" : ''} and ${n === 1 ? 'is' : 'are'} not in the target; correct the values if they are wrong`
    );
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if ((err as { code?: unknown }).code === '57014') return undefined; // no index to count through: not worth a scan
    throw err;
  }
}
