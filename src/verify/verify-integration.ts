import type pg from 'pg';
import { resolveEnvRefs } from '../config/env-refs';
import { quoteIdent, quoteTable, splitTableName } from '../config/identifiers';
import { isPostgresSource, type Integration, type PostgresSourceConfig } from '../config/schema';
import { closeQuietly, connect } from '../db/connect';
import { copyOut } from '../db/copy-out';
import { migrate } from '../db/migrate';
import { tryLockIntegration } from '../db/state';
import { PermanentError } from '../errors';
import { PostgresSink } from '../sinks/postgres-sink';
import { countCopyLines } from '../sinks/copy-text';
import { requireTable } from '../sources/postgres/describe-table';
import { boundariesSql, rangeDigestSql, rangePredicate, type Bound, type KeyColumn } from './range-sql';

export interface RangeDiff {
  lo: Bound;
  hi: Bound;
  source: { rows: number; checksum: string };
  target: { rows: number; checksum: string };
  /** rows the repair wrote (inserted or changed) */
  repaired?: number;
  /** the range measured again after the repair */
  after?: { source: { rows: number; checksum: string }; target: { rows: number; checksum: string } };
}

export interface VerifyReport {
  ranges: number;
  sourceRows: number;
  targetRows: number;
  differing: RangeDiff[];
  consistent: boolean;
}

export class VerifyError extends PermanentError {
  override readonly name = 'VerifyError';
}

/**
 * Compares source and target by key ranges (counts and checksums computed in each database) and,
 * with `repair`, re-syncs only the ranges that differ: their source rows are upserted into the target.
 * Rows the target has and the source no longer has are reported, never deleted.
 */
export async function verifyIntegration(it: Integration, opts: { ranges?: number; repair?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<VerifyReport> {
  const source = it.source;
  if (!isPostgresSource(source)) throw new VerifyError(`verify compares two PostgreSQL tables; ${it.id} reads from ${source.kind}`);
  if (it.mapping) throw new VerifyError(`verify compares columns as they are; ${it.id} has a mapping, so source and target rows differ by design`);
  const env = opts.env ?? process.env;
  const src = await connect(resolveEnvRefs(source.url, `integrations[${it.id}].source.url`, env), { applicationName: 'tidemark-verify' });
  const dst = await connect(resolveEnvRefs(it.sink.url, `integrations[${it.id}].sink.url`, env), { applicationName: 'tidemark-verify' });
  try {
    const srcTable = splitTableName(source.table);
    const dstTable = splitTableName(it.sink.table);
    const info = await requireTable(src, srcTable, 'source');
    await requireTable(dst, dstTable, 'sink');
    const columns = source.columns ?? info.columns.map((c) => c.name);
    const key: KeyColumn[] = it.sink.key.map((k) => {
      const c = info.columns.find((col) => col.name === k);
      if (!c) throw new VerifyError(`sink.key: column "${k}" is not in the source table ${source.table}`);
      return { name: k, type: c.type };
    });
    const bounds = (await src.query<{ b: string }>(boundariesSql(srcTable, key, opts.ranges ?? 32))).rows.map((r) => JSON.parse(r.b) as string[]);
    // (-inf, b0) catches target rows below the source's smallest key; the last range is open above.
    const edges: Bound[] = [null, ...bounds, null];
    const report: VerifyReport = { ranges: edges.length - 1, sourceRows: 0, targetRows: 0, differing: [], consistent: true };
    for (let i = 0; i + 1 < edges.length; i++) {
      const [lo, hi] = [edges[i] as Bound, edges[i + 1] as Bound];
      const [s, t] = await Promise.all([digest(src, rangeDigestSql(srcTable, columns, key, lo, hi)), digest(dst, rangeDigestSql(dstTable, columns, key, lo, hi))]);
      report.sourceRows += s.rows;
      report.targetRows += t.rows;
      if (s.rows !== t.rows || s.checksum !== t.checksum) report.differing.push({ lo, hi, source: s, target: t });
    }
    if (opts.repair && report.differing.length) {
      await repair({ ...it, source }, src, dst, columns, key, report.differing);
      // Measured again, not assumed: a range still differs if the target has rows the source deleted.
      for (const d of report.differing) {
        const [s, t] = await Promise.all([digest(src, rangeDigestSql(srcTable, columns, key, d.lo, d.hi)), digest(dst, rangeDigestSql(dstTable, columns, key, d.lo, d.hi))]);
        d.after = { source: s, target: t };
      }
    }
    report.consistent = report.differing.every((d) => d.after && d.after.source.rows === d.after.target.rows && d.after.source.checksum === d.after.target.checksum);
    return report;
  } finally {
    await closeQuietly(src);
    await closeQuietly(dst);
  }
}

async function digest(client: pg.Client, sql: string) {
  const r = (await client.query<{ n: string; h: string }>(sql)).rows[0] as { n: string; h: string };
  return { rows: Number(r.n), checksum: r.h };
}

async function repair(it: Integration & { source: PostgresSourceConfig }, src: pg.Client, dst: pg.Client, columns: string[], key: KeyColumn[], diffs: RangeDiff[]): Promise<void> {
  await migrate(dst);
  if (!(await tryLockIntegration(dst, it.id))) throw new Error(`integration "${it.id}" is busy (a run is writing): repair when it is done`);
  const sink = new PostgresSink(dst, { ...it.sink, create: false });
  const info = await requireTable(src, splitTableName(it.source.table), 'source');
  await sink.prepare(info.columns.filter((c) => columns.includes(c.name)), { allowDirect: false });
  for (const d of diffs) {
    // All source rows of the range, in one COPY; the upsert rewrites only the rows that differ.
    const sql = `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteTable(splitTableName(it.source.table))} WHERE ${rangePredicate(key, d.lo, d.hi)}`;
    const data = await copyOut(src, `COPY (${sql}) TO STDOUT`);
    const res = await sink.writeCopy(data, countCopyLines(data), async () => undefined);
    d.repaired = res.written;
  }
}
