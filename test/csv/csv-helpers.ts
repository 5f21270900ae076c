import { mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type ActivityDeps, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { sql } from '../helpers/fixtures';

/** A fresh directory for one test file's CSV files. */
export function tempDir(prefix = 'tm-csv-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** One CSV integration `csv` writing into copy.<table> on ${DST_URL}. */
export function csvConfig(source: Record<string, unknown>, integration: Record<string, unknown> = {}, table = 'copy.items'): Config {
  return parseConfig({
    integrations: [
      {
        id: 'csv',
        source: { kind: 'csv', ...source },
        sink: { kind: 'postgres', url: '${DST_URL}', table, key: ['id'], create: true },
        batchSize: 1000,
        ...integration,
      },
    ],
  });
}

/** The real activity under MockActivityEnvironment, like a worker runs it. */
export function runCsv(
  dstUrl: string,
  config: Config,
  input: Partial<RunInput> & { runKey: string },
  env = new MockActivityEnvironment(),
  extra: Partial<ActivityDeps> = {},
): Promise<RunResult> {
  const acts = createActivities({ config: () => config, env: { DST_URL: dstUrl }, ...extra });
  const full: RunInput = { integration: 'csv', mode: 'backfill', ...input };
  return env.run(acts.runIntegration, full) as Promise<RunResult>;
}

/** Rows `from..to` of a generated orders file: id, name (with commas and quotes now and then), amount. */
export function orderLines(from: number, to: number, eol = '\n'): string {
  let s = '';
  for (let i = from; i <= to; i++) s += `${i},${i % 7 === 0 ? `"name ""${i}"", with comma"` : `name ${i}`},${(i * 1.25).toFixed(2)}${eol}`;
  return s;
}

/** The name column as orderLines writes it, unquoted. */
export function orderName(i: number): string {
  return i % 7 === 0 ? `name "${i}", with comma` : `name ${i}`;
}

/** Marks a file as last changed a minute ago: a last line without a line break counts as finished (UNTERMINATED_SETTLE_MS). */
export function settled(path: string): void {
  const past = new Date(Date.now() - 60_000);
  utimesSync(path, past, past);
}

export async function count(url: string, table: string): Promise<number> {
  const [r] = await sql(url, `SELECT count(*)::text AS n FROM ${table}`);
  return Number(r?.n);
}

/** xmin per target row: a changed xmin means the row was rewritten. */
export async function versions(url: string, table = 'copy.items'): Promise<Map<string, string>> {
  const rows = await sql<{ id: string; x: string }>(url, `SELECT id::text, xmin::text AS x FROM ${table}`);
  return new Map(rows.map((r) => [r.id, r.x]));
}

export async function resetTarget(url: string): Promise<void> {
  await sql(url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
}
