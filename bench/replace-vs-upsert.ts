/**
 * Replacing a page against upserting it, side by side on a durable embedded cluster (issue 16; what
 * src/sinks/replace-rows.ts does): the bench's source table, read in cursor order in pages of 5,000 (the real
 * PostgresSource.copyPages and prefetch), written into a target pre-filled with every row changed, either
 *   upsert: COPY into a temp stage + tidemark's INSERT … ON CONFLICT (upsertFromStageSql), or
 *   delins: tidemark's DELETE of the page's keys (deleteKeysSql) + COPY into the target,
 * each page in its own transaction (synchronous_commit off, as tidemark's pages); `pipe` is the COPY pipe into an
 * empty target. Prints seconds and WAL bytes per run and the medians of 3.
 *
 *   npx tsx bench/replace-vs-upsert.ts        (ROWS=1000000 and MODES=pipe,upsert,delins by default)
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { resolveEnvRefs } from '../src/config';
import { quoteTable, splitTableName } from '../src/config/identifiers';
import { connect } from '../src/pg/connect';
import { deleteKeysSql } from '../src/sinks/replace-rows';
import { pageKeys, type KeyColumn } from '../src/sinks/unchanged-rows';
import { upsertFromStageSql } from '../src/sinks/upsert-sql';
import { prefetch } from '../src/sources/combinators/prefetch';
import { PostgresSource } from '../src/sources/postgres/postgres-source';
import { benchConfig, benchEnv, pgSource } from './paths/common';
import { COLUMNS, seedSource } from './lib/seed';
import { startBenchStack } from './lib/stack';
import { copyPipe, prepareTarget, TARGET_TABLE } from './lib/targets';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const PAGE = 5000;
const target = quoteTable(splitTableName(TARGET_TABLE));
const cols = COLUMNS.join(', ');
const KEY: KeyColumn[] = [{ index: 0, name: 'id', type: 'bigint' }];
// tidemark's own statements: the staged upsert (a key unique in the page) and the DELETE of a page's keys.
const UPSERT = upsertFromStageSql(target, 'pg_temp.stage', COLUMNS, ['id'], true);

/** One page into the target, in its own transaction (synchronous_commit off, as tidemark's pages). */
async function writePage(db: pg.Client, mode: string, data: Buffer): Promise<void> {
  await db.query('BEGIN; SET LOCAL synchronous_commit = off');
  if (mode === 'upsert') {
    await pipeline(Readable.from([data]), db.query(copyFrom(`COPY pg_temp.stage (${cols}) FROM STDIN`)));
    await db.query(`${UPSERT}; TRUNCATE pg_temp.stage`);
  } else {
    await db.query(deleteKeysSql(pageKeys(data, [0]), target, KEY));
    await pipeline(Readable.from([data]), db.query(copyFrom(`COPY ${target} (${cols}) FROM STDIN`)));
  }
  await db.query('COMMIT');
}

async function main(): Promise<void> {
  const stack = await startBenchStack({ temporal: false, log: () => undefined });
  try {
    const seed = await seedSource(stack.srcUrl, ROWS);
    const ctx = { sourceTable: seed.table, batchSize: PAGE, srcUrl: stack.srcUrl, dstUrl: stack.dstUrl };
    const cfg = pgSource(benchConfig(ctx).integrations[0]!);
    const modes = (process.env.MODES ?? 'pipe,upsert,delins').split(',');
    const res: Record<string, number[]> = {};
    for (let r = 0; r < 3; r++) {
      for (const mode of modes) {
        await prepareTarget(stack.srcUrl, stack.dstUrl, seed.table, mode === 'pipe' ? 'empty' : 'changed');
        const source = new PostgresSource(await connect(resolveEnvRefs(cfg.url, 'source.url', benchEnv(ctx))), cfg);
        const db = await connect(stack.dstUrl);
        await db.query('CHECKPOINT');
        const w0 = (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
        await db.query(`CREATE TEMP TABLE stage (LIKE ${target})`);
        const t0 = performance.now();
        if (mode === 'pipe') await copyPipe(stack.srcUrl, `SELECT ${cols} FROM ${seed.table} ORDER BY updated_at, id`, stack.dstUrl, TARGET_TABLE);
        else {
          await source.prepare({});
          for await (const p of prefetch(source.copyPages(null, { limit: PAGE }))) await writePage(db, mode, p.data);
        }
        const s = (performance.now() - t0) / 1000;
        const wal = (await db.query<{ d: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${w0}')::text AS d`)).rows[0]!.d;
        (res[mode] ??= []).push(s);
        console.log(mode, s.toFixed(2), 's, WAL', (Number(wal) / 1e6).toFixed(0), 'MB');
        await Promise.all([source.close(), db.end()]);
      }
    }
    for (const [m, v] of Object.entries(res)) console.log(m, 'median', [...v].sort((x, y) => x - y)[1]!.toFixed(2), 's');
  } finally {
    await stack.stop();
  }
}
void main();
