import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresSourceConfig } from '../../config/schema';
import { quoteIdent, quoteTable, splitTableName, type QualifiedName } from '../../config/identifiers';
import { InvalidCursorError, parseKeysetCursor, type Cursor, type KeysetCursor } from '../../cursor/cursor';
import { cursorGreaterQuery, keysetPageQuery, type KeysetColumn, type SqlQuery } from '../../cursor/keyset-sql';
import { closeQuietly } from '../../db/connect';
import { copyOut } from '../../db/copy-out';
import { countCopyLines, decodeCopyValue, lastCopyLine } from '../../sinks/copy-text';
import { PermanentError } from '../../errors';
import type { ColumnSpec, CopyPage, Page, PrepareOptions, ReadOptions, Source, SourcePlan } from '../source';
import { requireTable } from './describe-table';
import { splitRange } from './split-range';

export class SourceSetupError extends PermanentError {
  override readonly name = 'SourceSetupError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Tables up to this many rows (pg_class.reltuples) get an exact remaining count. */
const EXACT_COUNT_BELOW = 200_000;

const TIME_TYPES: Record<string, string> = {
  'timestamp with time zone': 'now()',
  'timestamp without time zone': 'localtimestamp',
};

/** Reads a PostgreSQL table in keyset order (see cursor/keyset-sql.ts for the SQL). */
export class PostgresSource implements Source {
  readonly kind = 'postgres';
  private readonly table: QualifiedName;
  private keyset: KeysetColumn[] = [];
  private select: string[] = [];
  private cursorIndex: number[] = [];
  private highWater: string | null = null;

  constructor(
    private readonly client: pg.Client,
    private readonly cfg: PostgresSourceConfig,
  ) {
    this.table = splitTableName(cfg.table);
  }

  async prepare(opts: PrepareOptions): Promise<SourcePlan> {
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
    // The keyset must be unique, or rows sharing a cursor value at a page boundary would be skipped.
    if (!info.uniqueKeys.some((key) => key.every((k) => this.cfg.cursor.includes(k)))) {
      throw new SourceSetupError(
        'source.cursor',
        `[${this.cfg.cursor.join(', ')}] is not unique in ${this.cfg.table}: end it with a unique column (e.g. [${this.cfg.cursor[0]}, id]) backed by a unique index or primary key`,
      );
    }
    this.keyset = this.cfg.cursor.map((n) => ({ name: n, type: (byName.get(n) as ColumnSpec).type }));
    this.select = columns.map((c) => c.name);
    this.cursorIndex = this.cfg.cursor.map((n) => this.select.indexOf(n));
    await this.checkNoNulls(byName);
    this.highWater = opts.highWater !== undefined ? opts.highWater : await this.computeHighWater();
    const range = this.highWater === null ? 'to the end' : `up to ${this.cfg.cursor[0]} < ${this.highWater}`;
    return { columns, highWater: this.highWater, describe: `${this.cfg.table} by (${this.cfg.cursor.join(', ')}) ${range}`, uniqueKeys: info.uniqueKeys };
  }

  /** A NULL never compares greater than a cursor, so such rows would silently never be read. */
  private async checkNoNulls(byName: Map<string, ColumnSpec>): Promise<void> {
    for (const name of this.cfg.cursor) {
      if ((byName.get(name) as ColumnSpec).notNull) continue;
      const r = await this.client.query(`SELECT 1 FROM ${quoteTable(this.table)} WHERE ${quoteIdent(name)} IS NULL LIMIT 1`);
      if (r.rowCount) {
        throw new SourceSetupError(
          'source.cursor',
          `${this.cfg.table} has rows where cursor column "${name}" is NULL; they could never be read: set a value and make the column NOT NULL`,
        );
      }
    }
  }

  private async computeHighWater(): Promise<string | null> {
    const first = this.keyset[0] as KeysetColumn;
    const clock = TIME_TYPES[first.type];
    if (!clock) {
      if (this.cfg.lag > 0) {
        throw new SourceSetupError('source.lag', `needs a timestamp as the first cursor column, but "${first.name}" is ${first.type}: remove lag or put a timestamp column first`);
      }
      return null;
    }
    const r = await this.client.query<{ hw: string }>(`SELECT (${clock} - $1::interval)::text AS hw`, [`${this.cfg.lag} milliseconds`]);
    return (r.rows[0] as { hw: string }).hw;
  }

  parseCursor(value: unknown): KeysetCursor {
    return parseKeysetCursor(value, this.cfg.cursor);
  }

  async later(a: Cursor, b: Cursor): Promise<Cursor> {
    const x = this.parseCursor(a);
    const y = this.parseCursor(b);
    if (!x) return y;
    if (!y) return x;
    const q = cursorGreaterQuery(this.keyset, x, y);
    try {
      const r = await this.client.query<{ greater: string }>(q.text, q.values);
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

  /** Throws InvalidCursorError when a value of `c` is not valid in its cursor column's type. */
  async checkValues(c: KeysetCursor): Promise<void> {
    if (!c) return;
    try {
      await this.client.query(`SELECT ROW(${this.keyset.map((k, i) => `$${i + 1}::${k.type}`).join(', ')})::text`, c);
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
      const res = await this.client.query<(string | null)[]>({ name: statementName(q), text: q.text, values: q.values, rowMode: 'array' });
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
    for (;;) {
      const limit = opts.limit;
      const q = keysetPageQuery({ table: this.table, select: this.select, cursor: this.keyset, after: cursor, upper: this.highWater, until, limit, inline: true });
      const data = await copyOut(this.client, `COPY (${q.text}) TO STDOUT`);
      const count = countCopyLines(data);
      if (count === 0) return;
      const last = lastCopyLine(data);
      cursor = this.cursorIndex.map((i) => decodeCopyValue(last[i] ?? '') as string);
      yield { data, count, cursor };
      if (count < limit) return;
    }
  }

  /**
   * Rows left after `after`: an exact count on small tables, the planner's estimate for the keyset range
   * on large ones (a count of millions of rows would cost a scan before the first page is read).
   */
  async estimateRemaining(after: Cursor, until?: Cursor): Promise<number> {
    const q = this.pageQuery(this.parseCursor(after), 0, this.parseCursor(until ?? null));
    const where = q.text.slice(q.text.indexOf(' FROM '), q.text.indexOf(' ORDER BY '));
    const values = q.values.slice(0, -1);
    if ((await this.tableSize()) > EXACT_COUNT_BELOW) {
      const plan = await this.client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (FORMAT JSON) SELECT 1 ${where}`, values);
      const parsed = JSON.parse(String(plan.rows[0]?.['QUERY PLAN'] ?? '[]')) as Array<{ Plan?: { 'Plan Rows'?: number } }>;
      return Math.round(parsed[0]?.Plan?.['Plan Rows'] ?? 0);
    }
    const r = await this.client.query<{ n: string }>(`SELECT count(*)::text AS n ${where}`, values);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Shard boundaries of the rows after `after`, from a sample (see split-range.ts). */
  async split(after: Cursor, parts: number): Promise<KeysetCursor[]> {
    // `after` is a backfill's `from`: reject bad values as an invalid cursor before planning (found by chaos bad-input).
    const from = this.parseCursor(after);
    await this.checkValues(from);
    return splitRange(this.client, { table: this.table, keyset: this.keyset, after: from, upper: this.highWater, tableRows: await this.tableSize() }, parts);
  }

  private async tableSize(): Promise<number> {
    const size = await this.client.query<{ n: string }>('SELECT greatest(reltuples, 0)::bigint::text AS n FROM pg_class WHERE oid = to_regclass($1::text)', [quoteTable(this.table)]);
    return Number(size.rows[0]?.n ?? 0);
  }

  private pageQuery(after: KeysetCursor, limit: number, until: KeysetCursor = null): SqlQuery {
    return keysetPageQuery({ table: this.table, select: this.select, cursor: this.keyset, after, upper: this.highWater, until, limit });
  }

  async close(): Promise<void> {
    await closeQuietly(this.client);
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
