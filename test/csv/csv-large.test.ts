import { createWriteStream, openSync, closeSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/activities';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { csvConfig, runCsv, tempDir } from './csv-helpers';

let dst: TestDatabase;
let path: string;
const ROWS = 200_000;
const PAGE = 5_000;

function line(i: number): string {
  const ts = new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString().replace('T', ' ').replace('Z', '+00');
  return `${i},customer ${i},${(i * 1.25).toFixed(2)},${ts},"note ${i}, ""quoted"""\n`;
}

beforeAll(async () => {
  dst = await createTestDatabase('csv_large');
  path = join(tempDir(), 'large.csv');
  const out = createWriteStream(path);
  out.write('id,name,amount,created_at,note\n');
  for (let i = 1; i <= ROWS; i++) if (!out.write(line(i))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
});
afterAll(async () => {
  await dst?.drop();
});

describe('csv source: a large file', () => {
  it(`streams ${ROWS.toLocaleString('en')} rows page by page, reading the end of the file only after the first pages committed`, async () => {
    const size = statSync(path).size;
    // After page 1 commits, rewrite the last record's name in place (same length). A source that had
    // read the whole file up front would load the old name; a streaming one reads the new one.
    const last = line(ROWS);
    const patch = async ({ pages }: { pages: number }) => {
      if (pages !== 1) return;
      const fd = openSync(path, 'r+');
      writeSync(fd, 'CUSTOMER', size - last.length + `${ROWS},`.length);
      closeSync(fd);
    };
    const env = new MockActivityEnvironment();
    const beats: Progress[] = [];
    env.on('heartbeat', (d: Progress) => beats.push(d));
    const columns = { id: { type: 'bigint' }, name: 'name', amount: { type: 'numeric(12,2)' }, created_at: { type: 'timestamptz' }, note: 'note' };
    const started = Date.now();
    const r = await runCsv(dst.url, csvConfig({ path, columns }, { batchSize: PAGE }), { runKey: 'large/1' }, env, { afterBatch: patch });
    const secs = (Date.now() - started) / 1000;
    console.log(`csv: ${ROWS} rows (${(size / 1e6).toFixed(1)} MB) in ${secs.toFixed(1)} s = ${Math.round(ROWS / secs)} rows/s`);

    expect(r).toMatchObject({ rows: ROWS, done: true, cursor: { offset: size, line: ROWS + 1 } });
    // One heartbeat per page; the run's end beats once more, naming the cursor it flushed (see lazy-commits.test.ts).
    const pages = beats.filter((b) => b.pages > 0);
    expect(pages.map((b) => b.rows).filter((n, i, all) => n !== all[i - 1])).toEqual(Array.from({ length: ROWS / PAGE }, (_, i) => (i + 1) * PAGE));
    expect(pages.length).toBeLessThanOrEqual(ROWS / PAGE + 1);
    expect(pages[pages.length - 1]!.cursor).toEqual(r.cursor);
    // The first heartbeat's total is estimated from bytes left / average record size.
    expect(Math.abs(beats[0]!.total! - ROWS) / ROWS).toBeLessThan(0.05);

    const [t] = await sql(
      dst.url,
      `SELECT count(*)::text AS n, sum(id)::text AS s, sum(amount)::text AS a, max(created_at) = '2024-01-01 00:00:00+00'::timestamptz + interval '${ROWS} seconds' AS ts,
              count(*) FILTER (WHERE note = 'note ' || id || ', "quoted"')::text AS notes FROM copy.items`,
    );
    expect(t).toEqual({ n: String(ROWS), s: String((ROWS * (ROWS + 1)) / 2), a: ((ROWS * (ROWS + 1) * 1.25) / 2).toFixed(2), ts: true, notes: String(ROWS) });
    expect(await sql(dst.url, `SELECT name FROM copy.items WHERE id IN (1, ${ROWS}) ORDER BY id`)).toEqual([{ name: 'customer 1' }, { name: `CUSTOMER ${ROWS}` }]);
  });
});
