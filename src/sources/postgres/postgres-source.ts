import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresSourceConfig } from '../../config/schema';
import { quoteTable, splitTableName, type QualifiedName } from '../../config/identifiers';
import { InvalidCursorError, parseKeysetCursor, type Cursor, type KeysetCursor } from '../../cursor/cursor';
import { cursorGreaterQuery, firstColumnRange, keysetPageQuery, keysetRange, type KeysetColumn, type SqlQuery } from '../../cursor/keyset-sql';
import { copyOut } from '../../pg/copy-out';
import { decodeCopyValue, lastCopyLine } from '../../pg/copy-text';
import type { ColumnSpec, CopyPage, Page, PrepareOptions, ReadOptions, Source, SourcePlan } from '../source';
import { requireTable } from './describe-table';
import { estimateRows } from './estimate-rows';
import { keysetIndexWarning } from './explain-order';
import { highWaterQuery } from './naive-time';
import { heldBackWarning, heldBefore, openWritersNow, openWritersWarning, waitForOpenWriters } from './open-writers';
import { checkNoNulls, NULL_PROBE_MS } from './null-check';
import { SourceSetupError } from './source-errors';
import { SourceSession } from './source-session';
import { splitRange } from './split-range';
import { tieShare } from './tie-share';
import { futureRowsWarning } from './future-rows';

export { SourceSetupError, SourceStatementTimeoutError } from './source-errors';

/** PostgreSQL's time words that mean a different time in each statement (epoch and infinity are fixed). */
const RELATIVE_TIME = /\b(now|today|tomorrow|yesterday)\b/i;
/** Remaining rows are counted exactly (a count bounded to this many + 1) on tables estimated this small. */
const EXACT_COUNT_BELOW = 100_000;

/**
 * Reads a PostgreSQL table in keyset order (see cursor/keyset-sql.ts for the SQL). Every statement runs
 * through a SourceSession: bounded by source.statementTimeout, cancelled on the server when a read is
 * aborted or the source closed.
 */
export class PostgresSource implements Source {
  readonly kind = 'postgres';
  private readonly table: QualifiedName;
  private readonly session: SourceSession;
  private keyset: KeysetColumn[] = [];
  private select: string[] = [];
  private cursorIndex: number[] = [];
  private highWater: string | null = null;

  constructor(
    private readonly client: pg.Client,
    private readonly cfg: PostgresSourceConfig,
  ) {
    this.table = splitTableName(cfg.table);
    this.session = new SourceSession(client, cfg.table, cfg.statementTimeout);
  }

  prepare(opts: PrepareOptions): Promise<SourcePlan> {
    return this.session.run('preparing the read', () => this.describe(opts));
  }

  private async describe(opts: PrepareOptions): Promise<SourcePlan> {
    const info = await requireTable(this.client, this.table, 'source');
    const byName = new Map(info.columns.map((c) => [c.name, c]));
    const known = info.columns.map((c) => c.name).join(', ');
    for (const [i, name] of this.cfg.cursor.entries()) {
      if (!byName.has(name)) throw new SourceSetupError(`source.cursor[${i}]`, `column "${name}" does not exist in ${this.cfg.table} (columns: ${known})`);
    }
    for (const [i, name] of (this.cfg.columns ?? []).entries()) {
      if (!byName.has(name)) throw new SourceSetupError(`source.columns[${i}]`, `column "${name}" does not exist in ${this.cfg.table} (columns: ${known})`);
    }
    const columns: ColumnSpec[] = this.cfg.columns ? this.cfg.columns.map((n) => byName.get(n) as ColumnSpec) : info.columns;
    const missing = this.cfg.cursor.filter((c) => !columns.some((col) => col.name === c));
    if (missing.length) throw new SourceSetupError('source.columns', `must include the cursor columns (missing ${missing.join(', ')})`);
    // A read of a table with INHERITS children returns their rows too, which its own unique indexes do not cover
    // (TimescaleDB hypertables and trigger-partitioned tables keep them unique by design; a plain parent may not).
    const inherited = info.inheritedBy
      ? `${this.cfg.table} has child tables (INHERITS: ${shortList(info.inheritedBy)}): reading it reads theirs too, and its unique indexes do not cover them, so the cursor's uniqueness across them is not checked; a key repeated across them fails a page (cardinality_violation) instead of being skipped`
      : undefined;
    // The keyset must be unique, or rows sharing a cursor value at a page boundary would be skipped.
    if (!info.uniqueKeys.some((key) => key.every((k) => this.cfg.cursor.includes(k)))) {
      const c = this.cfg.cursor;
      const example = c.length === 1 && c[0] !== 'id' ? ` (e.g. [${c[0]}, id])` : '';
      const loose = info.looseKeys?.find((key) => key.columns.every((k) => c.includes(k)));
      throw new SourceSetupError(
        'source.cursor',
        loose
          ? `[${c.join(', ')}] is not unique in ${this.cfg.table} as the keyset compares it: ${loose.loose.join(', ')} ${loose.loose.length === 1 ? 'has a nondeterministic collation' : 'have nondeterministic collations'} (values that differ compare equal), and index ${loose.index} is unique under another collation, so rows it holds apart would be one cursor value and all but one skipped at a page boundary. Back the cursor with a unique index in the column's own collation, or end it with a unique column${example}`
          : `[${c.join(', ')}] is not unique in ${this.cfg.table}: no valid unique index or primary key has only these columns (partial, expression and invalid indexes prove nothing; a view has none). End it with a unique column${example} backed by a unique index or primary key`,
      );
    }
    this.keyset = this.cfg.cursor.map((n) => ({ name: n, type: (byName.get(n) as ColumnSpec).type, ...(info.baseTypes[n] ? { baseType: info.baseTypes[n] } : {}) }));
    this.select = columns.map((c) => c.name);
    this.cursorIndex = this.cfg.cursor.map((n) => this.select.indexOf(n));
    // Checked before the NULL probe: a missing source.timeZone is a config error, whatever the data.
    const hwQuery = highWaterQuery(this.keyset[0] as KeysetColumn, this.cfg);
    for (const name of this.cfg.cursor) {
      if (!(byName.get(name) as ColumnSpec).notNull) await checkNoNulls(this.client, this.table, name, Math.min(NULL_PROBE_MS, this.cfg.statementTimeout));
    }
    let late: string | undefined;
    if (opts.highWater !== undefined) this.highWater = opts.highWater;
    else {
      this.highWater = hwQuery ? ((await this.client.query<{ hw: string }>(hwQuery.text, hwQuery.values)).rows[0] as { hw: string }).hw : null;
      // A new range's end: the rows of transactions writing the table now must be committed before it is read.
      const onWait = opts.onWritersWait;
      const waiting = onWait ? (who: string[]) => onWait({ table: this.cfg.table, who, waitMs: this.cfg.writersWait }) : undefined;
      const open = opts.newRange ? await waitForOpenWriters(this.client, this.table, this.cfg.writersWait, opts.signal, waiting) : [];
      const held = open.length && hwQuery && this.highWater !== null ? await heldBefore(this.client, open, hwQuery, this.highWater) : undefined;
      if (held !== undefined && this.highWater !== null) {
        late = heldBackWarning(this.cfg.table, open, this.cfg.writersWait, this.cfg.cursor[0] as string, held, this.highWater);
        this.highWater = held;
      } else if (open.length) late = openWritersWarning(this.cfg.table, open, this.cfg.writersWait, this.highWater, this.client.user);
      else if (opts.newRange && this.cfg.writersWait <= 0) {
        // The wait turned off: no hold either, but a writer open now is named (an acceptance run: nothing said).
        const now = await openWritersNow(this.client, this.table);
        if (now.length) late = openWritersWarning(this.cfg.table, now, 0, this.highWater);
      }
    }
    const warning = await keysetIndexWarning(this.client, this.table, this.cfg.cursor, this.pageQuery(null, 1000));
    const future = this.highWater === null ? undefined : await futureRowsWarning(this.client, this.table, this.keyset[0] as KeysetColumn, hwQuery);
    const zone = !hwQuery?.zone ? '' : hwQuery.zone.assumed ? ` (the day in ${hwQuery.zone.name}, the last to end on earth: set source.timeZone to the writers' zone to read each day as soon as it ends there)` : ` (${hwQuery.zone.name} time)`;
    const range = this.highWater === null ? 'to the end' : `up to ${this.cfg.cursor[0]} < ${this.highWater}${zone}`;
    // Shown where users look (status, runs), not only in the worker's log (an acceptance run: today's rows missing, unexplained).
    const assumedDay = hwQuery?.zone?.assumed && this.highWater !== null ? `this run reads ${this.cfg.table} up to ${this.cfg.cursor[0]} < ${this.highWater}: a day is read once it is over in ${hwQuery.zone.name}, the last zone on earth to end it, as source.timeZone is not set; set it to the writers' zone to read each day as soon as it ends there` : undefined;
    return {
      columns,
      highWater: this.highWater,
      describe: `${this.cfg.table} by (${this.cfg.cursor.join(', ')}) ${range}`,
      uniqueKeys: info.uniqueKeys,
      ...(info.partitionKey ? { partitionKey: info.partitionKey } : {}),
      ...(info.nondeterministic ? { nondeterministic: info.nondeterministic } : {}),
      ...(warning || inherited || late || future || assumedDay ? { warnings: [warning, inherited, late, future, assumedDay].filter((w): w is string => !!w) } : {}),
    };
  }

  parseCursor(value: unknown): KeysetCursor {
    const c = parseKeysetCursor(value, this.cfg.cursor);
    // Once prepared (the column types known): a stored checkpoint holding "now" is refused too, not read for ever.
    this.refuseRelativeTimes(c);
    return c;
  }

  async later(a: Cursor, b: Cursor): Promise<Cursor> {
    const x = this.parseCursor(a);
    const y = this.parseCursor(b);
    if (!x) return y;
    if (!y) return x;
    const q = cursorGreaterQuery(this.keyset, x, y);
    try {
      const r = await this.session.run('comparing cursors', (c) => c.query<{ greater: string }>(q.text, q.values));
      return r.rows[0]?.greater === 'true' ? x : y;
    } catch (err) {
      // A value its column's type cannot hold (a cursor from outside: --from, the UI) is an invalid
      // cursor, named as such, not a bare SQL error (found by chaos bad-input).
      if (isDataException(err)) {
        await this.checkValues(x);
        await this.checkValues(y);
      }
      throw err;
    }
  }

  /**
   * `now`, `today`, `tomorrow`, `yesterday` are valid times to PostgreSQL, read afresh by every statement: as a cursor
   * (every one passes parseCursor: --from, checkpoint set, the UI, a stored checkpoint) one that never moves, every new row behind it
   * (an acceptance run: checkpoint set '["now","0"]', then syncs "completed" with 0 rows while rows arrived).
   */
  private refuseRelativeTimes(c: KeysetCursor): void {
    c?.forEach((v, i) => {
      const k = this.keyset[i];
      if (k && /^(timestamp|date|time)/.test(k.type) && RELATIVE_TIME.test(v)) {
        throw new InvalidCursorError(c, `a fixed point in time for ${k.name} (${k.type}), not ${JSON.stringify(v)}: PostgreSQL reads that afresh in every statement, so the cursor would never move and rows would be skipped; give the time itself, e.g. "2024-05-01 10:00:00+00"`);
      }
    });
  }

  /** Throws InvalidCursorError when a value of `c` is not valid in its cursor column's type. */
  async checkValues(c: KeysetCursor): Promise<void> {
    if (!c) return;
    try {
      await this.session.run('checking a cursor', (client) => client.query(`SELECT ROW(${this.keyset.map((k, i) => `$${i + 1}::${k.type}`).join(', ')})::text`, c));
    } catch (err) {
      if (!isDataException(err)) throw err;
      const expected = `values of ${this.keyset.map((k) => `${k.name} (${k.type})`).join(', ')}: ${(err as Error).message}`;
      throw new InvalidCursorError(c, expected);
    }
  }

  async *pages(after: Cursor, opts: ReadOptions): AsyncGenerator<Page> {
    let cursor = this.parseCursor(after);
    const until = this.parseCursor(opts.until ?? null);
    for (;;) {
      const limit = opts.limit; // read once: a live retune must not make a full page look like the last one
      const q = this.pageQuery(cursor, limit, until);
      const res = await this.session.run(
        'reading a page',
        (c) => c.query<(string | null)[]>({ name: statementName(q), text: q.text, values: q.values, rowMode: 'array' }),
        opts.signal,
      );
      const rows = res.rows;
      const last = rows[rows.length - 1];
      if (!last) return;
      cursor = this.cursorIndex.map((i) => last[i] as string);
      yield { rows, cursor };
      if (rows.length < limit) return;
    }
  }

  /** The same pages as COPY text: PostgreSQL formats the rows, JavaScript only finds the last one. */
  async *copyPages(after: Cursor, opts: ReadOptions): AsyncGenerator<CopyPage> {
    let cursor = this.parseCursor(after);
    const until = this.parseCursor(opts.until ?? null);
    let sizeHint = 0;
    for (;;) {
      const limit = opts.limit;
      const q = keysetPageQuery({ table: this.table, select: this.select, cursor: this.keyset, after: cursor, upper: this.highWater, until, limit, inline: true });
      const { data, rows: count } = await this.session.run('reading a page', (c) => copyOut(c, `COPY (${q.text}) TO STDOUT`, sizeHint), opts.signal);
      if (count === 0) return;
      sizeHint = data.length;
      const last = lastCopyLine(data);
      cursor = this.cursorIndex.map((i) => decodeCopyValue(last[i] ?? '') as string);
      yield { data, count, cursor };
      if (count < limit) return;
    }
  }

  /**
   * Rows left after `after`: counted exactly when few (the count is bounded: it stops at
   * EXACT_COUNT_BELOW + 1 rows, in case the estimate was low), else estimated (estimate-rows.ts): a count
   * of millions of rows would cost a scan before the first page is read. Never-analyzed tables are sized
   * from a block sample, never taken for empty.
   */
  estimateRemaining(after: Cursor, until?: Cursor): Promise<number> {
    return this.session.run('estimating the rows to read', async (client) => {
      const [from, to] = [this.parseCursor(after), this.parseCursor(until ?? null)];
      const range = keysetRange({ table: this.table, cursor: this.keyset, after: from, upper: this.highWater, until: to });
      // Estimated on the first cursor column alone: the planner multiplies two row comparisons' selectivities as if
      // independent (a shard in the middle of 4: 0.75 × 0.5, not 0.25: sharded totals 25 % too high), where a
      // scalar range on one column is read from its histogram.
      const middle = this.keyset.length > 1 && !!from && !!to;
      const scalar = middle ? firstColumnRange(this.keyset[0] as KeysetColumn, from?.[0], this.highWater, to?.[0]) : range;
      const first = await estimateRows(client, this.table, scalar);
      const planned = first.range;
      // The planner estimates both forms by the first column: a group of equal first values at an end is counted whole
      // or not at all, where only its part inside the range belongs (see tie-share.ts). A block sample evaluates row
      // comparisons exactly on its rows: only the first-column form needs it then.
      const corrects = this.keyset.length > 1 && (middle || !first.sampled);
      const estimate = { range: corrects ? ((await this.tieCorrected(client, planned, from, to, middle)) ?? planned) : planned };
      if (estimate.range <= EXACT_COUNT_BELOW) {
        const from = `${quoteTable(this.table)} WHERE ${range.text}`;
        const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM (SELECT 1 FROM ${from} LIMIT ${EXACT_COUNT_BELOW + 1}) s`, range.values);
        const n = Number(r.rows[0]?.n ?? 0);
        if (n <= EXACT_COUNT_BELOW) return n;
        // More rows than the statistics said (a table that grew since ANALYZE, a skewed range): a block sample of the
        // range says how many, rather than the count's cap (a total of 100,001 for 250,000 rows).
        return Math.max((await estimateRows(client, this.table, range, { sample: true })).range, EXACT_COUNT_BELOW + 1);
      }
      return Math.max(estimate.range, EXACT_COUNT_BELOW + 1);
    });
  }

  /**
   * A first-column estimate of the range with its ends' tie groups counted by their share (undefined: a group too large
   * to count). `middle`: the estimate was `first >= from AND first <= to` (both ends' groups in); else row comparisons,
   * estimated as `first > from` (the lower group out) and `first <= to` (the upper group in).
   */
  private async tieCorrected(client: pg.Client, planned: number, from: KeysetCursor | null, to: KeysetCursor | null, middle: boolean): Promise<number | undefined> {
    let n = planned;
    if (from) {
      const share = await tieShare(client, this.table, this.keyset, from, !middle, this.highWater);
      if (share === undefined) return undefined;
      n += middle ? -share : share;
    }
    if (to) {
      const beyond = await tieShare(client, this.table, this.keyset, to, true, this.highWater);
      if (beyond === undefined) return undefined;
      n -= beyond;
    }
    return Math.max(0, Math.round(n));
  }

  /** Shard boundaries of the rows after `after`, from a block sample of the whole table (see split-range.ts). */
  async split(after: Cursor, parts: number): Promise<KeysetCursor[]> {
    // `after` is a backfill's `from`: reject bad values as an invalid cursor before planning (found by chaos bad-input).
    const from = this.parseCursor(after);
    await this.checkValues(from);
    return this.session.run('sampling shard boundaries', async (client) =>
      splitRange(client, { table: this.table, keyset: this.keyset, after: from, upper: this.highWater, ...tableSize(await estimateRows(client, this.table)) }, parts),
    );
  }

  private pageQuery(after: KeysetCursor, limit: number, until: KeysetCursor = null): SqlQuery {
    return keysetPageQuery({ table: this.table, select: this.select, cursor: this.keyset, after, upper: this.highWater, until, limit });
  }

  /** Cancels a statement still running (a hung read), then disconnects: never waits on a stuck query. */
  async close(): Promise<void> {
    await this.session.close();
  }
}

/** SQLSTATE class 22 (data exception): a value that does not fit its type. */
function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

// Named statements are planned once per connection; the name follows the text so they never clash.
function statementName(q: SqlQuery): string {
  return `tm_${createHash('sha1').update(q.text).digest('hex').slice(0, 16)}`;
}

const tableSize = (e: { table: number; pages: number }) => ({ tableRows: e.table, tablePages: e.pages });

/** The first three names of a comma-separated list, and how many more (a hypertable has thousands of chunks). */
function shortList(names: string): string {
  const all = names.split(', ');
  return all.length > 3 ? `${all.slice(0, 3).join(', ')} and ${all.length - 3} more` : names;
}
