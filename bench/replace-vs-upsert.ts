/**
 * Replacing a page against upserting it, side by side on a durable embedded cluster (issue 16; what
 * src/sinks/replace-rows.ts does): the bench's source table, read in cursor order in pages of 5,000 (the real
 * copyOut and prefetch), written into a target pre-filled with every row changed, either
 *   upsert: COPY into a temp stage + INSERT … ON CONFLICT (id) DO UPDATE … WHERE (…) IS DISTINCT FROM (…), or
 *   delins: DELETE of the page's keys (= ANY(array)) + COPY into the target,
 * each page in its own transaction (synchronous_commit off, as tidemark's pages); `pipe` is the COPY pipe into an
 * empty target. Prints seconds and WAL bytes per run and the medians of 3.
 *
 *   npx tsx bench/replace-vs-upsert.ts                       (MODES=pipe,upsert,delins by default)
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startBenchStack } from './lib/stack';
import { seedSource, COLUMNS } from './lib/seed';
import { prepareTarget, TARGET_TABLE, copyPipe } from './lib/targets';
import { copyOut } from '../src/pg/copy-out';
import { prefetch } from '../src/sources/combinators/prefetch';

const PAGE = 5000;
const SEL = (t: string) => `SELECT ${COLUMNS.join(', ')} FROM ${t}`;
async function* paged(c: pg.Client, table: string) {
  let last: string[] | null = null;
  for (;;) {
    const where = last ? `WHERE (updated_at, id) > ('${last[1]}'::timestamptz, ${last[0]})` : '';
    const { data, rows } = await copyOut(c, `COPY (${SEL(table)} ${where} ORDER BY updated_at, id LIMIT ${PAGE}) TO STDOUT`);
    if (!rows) return;
    const end = data.lastIndexOf(10, data.length - 2);
    last = data.subarray(end + 1, data.length - 1).toString().split('\t');
    yield { data, rows };
    if (rows < PAGE) return;
  }
}
function keys(data: Buffer): string {
  const ids: string[] = []; let start = 0;
  while (start < data.length) { const tab = data.indexOf(9, start); ids.push(data.toString('latin1', start, tab)); start = data.indexOf(10, tab) + 1; }
  return `{${ids.join(',')}}`;
}
const cols = COLUMNS.join(', ');
const set = COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = excluded.${c}`).join(', ');
const distinct = `(${COLUMNS.filter((c) => c !== 'id').map((c) => `${TARGET_TABLE.split('.')[1]}.${c}`).join(', ')}) IS DISTINCT FROM (${COLUMNS.filter((c) => c !== 'id').map((c) => `excluded.${c}`).join(', ')})`;

async function main() {
  const stack = await startBenchStack({ temporal: false, log: () => undefined });
  try {
    const seed = await seedSource(stack.srcUrl, 1_000_000);
    const modes = (process.env.MODES ?? 'pipe,upsert,delins').split(',');
    const res: Record<string, number[]> = {};
    for (let r = 0; r < 3; r++) for (const mode of modes) {
      await prepareTarget(stack.srcUrl, stack.dstUrl, seed.table, mode === 'pipe' ? 'empty' : 'changed');
      const a = new pg.Client(stack.srcUrl); await a.connect();
      const b = new pg.Client(stack.dstUrl); await b.connect();
      await b.query('CHECKPOINT');
      const w0 = (await b.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
      await b.query(`CREATE TEMP TABLE stage (LIKE ${TARGET_TABLE})`);
      const t0 = performance.now();
      if (mode === 'pipe') await copyPipe(stack.srcUrl, `${SEL(seed.table)} ORDER BY updated_at, id`, stack.dstUrl, TARGET_TABLE);
      else for await (const p of prefetch(paged(a, seed.table))) {
        await b.query('BEGIN; SET LOCAL synchronous_commit = off');
        if (mode === 'upsert') {
          await pipeline(Readable.from([p.data]), b.query(copyFrom(`COPY stage (${cols}) FROM STDIN`)));
          await b.query(`INSERT INTO ${TARGET_TABLE} AS orders (${cols}) SELECT ${cols} FROM stage ON CONFLICT (id) DO UPDATE SET ${set} WHERE ${distinct}; TRUNCATE stage`);
        } else {
          await b.query(`DELETE FROM ${TARGET_TABLE} WHERE id = ANY('${keys(p.data)}'::bigint[])`);
          await pipeline(Readable.from([p.data]), b.query(copyFrom(`COPY ${TARGET_TABLE} (${cols}) FROM STDIN`)));
        }
        await b.query('COMMIT');
      }
      const s = (performance.now() - t0) / 1000;
      const w1 = (await b.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${w0}') AS d`)).rows[0].d;
      (res[mode] ??= []).push(s);
      console.log(mode, s.toFixed(2), 'wal MB', (Number(w1) / 1e6).toFixed(0));
      await a.end(); await b.end();
    }
    for (const [m, v] of Object.entries(res)) console.log(m, 'median', v.sort((x, y) => x - y)[1]!.toFixed(2));
  } finally { await stack.stop(); }
}
void main();
