import { appendFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/activities';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { count, csvConfig, orderLines, orderName, resetTarget, runCsv, settled, tempDir, versions } from './csv-helpers';

let dst: TestDatabase;
let dir: string;
const ROWS = 10_000;
const HEADER = 'id,name,amount\r\n';
const COLUMNS = { id: { type: 'bigint' }, name: 'name', amount: { type: 'numeric(12,2)' } };

beforeAll(async () => {
  dst = await createTestDatabase('csv_resume');
  dir = tempDir();
});
afterAll(async () => {
  await dst?.drop();
});
beforeEach(async () => {
  await resetTarget(dst.url);
});

/** A fresh orders file of `rows` CRLF lines (a BOM first, so offsets must count it). */
function ordersFile(name: string, rows = ROWS): string {
  const path = join(dir, name);
  writeFileSync(path, `\ufeff${HEADER}${orderLines(1, rows, '\r\n')}`);
  return path;
}

/** Target rows equal the generated ones for ids 1..n, exactly. */
async function expectExact(n: number): Promise<void> {
  const [r] = await sql(dst.url, `SELECT count(*)::text AS n, sum(id)::text AS s, sum(amount)::text AS a, md5(string_agg(name, '|' ORDER BY id)) AS h FROM copy.items`);
  const names = Array.from({ length: n }, (_, i) => orderName(i + 1)).join('|');
  const [e] = await sql(dst.url, `SELECT md5($1::text) AS h`, [names]);
  expect(r).toEqual({ n: String(n), s: String((n * (n + 1)) / 2), a: ((n * (n + 1) * 1.25) / 2).toFixed(2), h: e!.h });
}

async function checkpoint(slot: string): Promise<{ cursor: { offset: number; line: number }; rows_done: string }> {
  const [cp] = await sql<{ cursor: { offset: number; line: number }; rows_done: string }>(
    dst.url,
    `SELECT cursor, rows_done::text FROM tidemark.checkpoints WHERE integration = 'csv' AND slot = $1`,
    [slot],
  );
  return cp!;
}

describe('csv source: resume, append, replaced files', () => {
  it('a retried attempt continues from the checkpointed byte offset: exact target, at most one page read twice', async () => {
    const cfg = csvConfig({ path: ordersFile('crash.csv'), columns: COLUMNS });
    const crash = new Error('worker died');
    await expect(
      runCsv(dst.url, cfg, { runKey: 'crash/1' }, undefined, {
        afterBatch: async ({ pages }) => {
          if (pages === 3) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const cp = await checkpoint('backfill');
    expect(cp.rows_done).toBe('3000');
    expect(cp.cursor.line).toBe(3001); // header + 3000 records, each ending in CRLF
    const before = await versions(dst.url);
    expect(before.size).toBe(3000);

    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { cursor: cp.cursor, rows: 3000 } satisfies Partial<Progress> });
    const beats: Progress[] = [];
    env.on('heartbeat', (d: Progress) => beats.push(d));
    expect(await runCsv(dst.url, cfg, { runKey: 'crash/1' }, env)).toMatchObject({ rows: ROWS, done: true });
    expect(beats[0]).toMatchObject({ rows: 3000, cursor: cp.cursor });
    await expectExact(ROWS);
    const after = await versions(dst.url);
    for (const [id, x] of before) expect(after.get(id), `row ${id} rewritten`).toBe(x);
    const [run] = await sql(dst.url, `SELECT attempts::text, rows_read::text, rows_committed::text FROM tidemark.runs WHERE run_id = 'crash/1'`);
    expect(run).toMatchObject({ attempts: '2', rows_committed: String(ROWS) });
    expect(Number(run!.rows_read) - ROWS).toBeLessThanOrEqual(1000);
  });

  it('a cancelled backfill stops at a page boundary and `resume` continues it exactly', async () => {
    const cfg = csvConfig({ path: ordersFile('cancel.csv'), columns: COLUMNS });
    const env = new MockActivityEnvironment();
    const first = runCsv(dst.url, cfg, { runKey: 'cancel/1' }, env, {
      afterBatch: async ({ pages }) => {
        if (pages === 2) env.cancel();
      },
    });
    await expect(first).rejects.toBeInstanceOf(CancelledFailure);
    const done = await count(dst.url, 'copy.items');
    expect(done % 1000).toBe(0);
    expect((await checkpoint('backfill')).rows_done).toBe(String(done));
    expect(await runCsv(dst.url, cfg, { runKey: 'cancel/2', mode: 'resume' })).toMatchObject({ done: true, rows: ROWS - done });
    await expectExact(ROWS);
  });

  it('a sync after appending rows reads exactly the appended rows; rows appended during a run wait for the next', async () => {
    const path = join(dir, 'append.csv');
    writeFileSync(path, `${HEADER}${orderLines(1, 2000)}`);
    const cfg = csvConfig({ path, columns: COLUMNS });
    const appendDuringRun = async ({ pages }: { pages: number }) => {
      if (pages === 1) appendFileSync(path, orderLines(2001, 2500)); // past the high-water mark (the size when the run started)
    };
    expect(await runCsv(dst.url, cfg, { runKey: 'append/1' }, undefined, { afterBatch: appendDuringRun })).toMatchObject({ rows: 2000, done: true });
    const before = await versions(dst.url);
    expect(await runCsv(dst.url, cfg, { runKey: 'append/2', mode: 'sync' })).toMatchObject({ rows: 500, done: true });
    // A last line without a line break, just written, waits (a writer may be in the middle of it), with a warning…
    appendFileSync(path, orderLines(2501, 2600).trimEnd());
    expect(await runCsv(dst.url, cfg, { runKey: 'append/3', mode: 'sync' })).toMatchObject({ rows: 99, done: true });
    const [held] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'append/3'`);
    expect(held?.warnings).toEqual([expect.stringMatching(/the last line of .*append\.csv \(line 2601\) has no line break and the file changed \d+ s ago: it is read once it ends with a line break, or once the file has not changed for 5 s/)]);
    // … and is read once the file is quiet, its page's cursor before it: the next run reads it again (once more).
    settled(path);
    expect(await runCsv(dst.url, cfg, { runKey: 'append/3b', mode: 'sync' })).toMatchObject({ rows: 1, done: true });
    appendFileSync(path, `\n${orderLines(2601, 2700)}`);
    expect(await runCsv(dst.url, cfg, { runKey: 'append/4', mode: 'sync' })).toMatchObject({ rows: 101, done: true });
    expect(await runCsv(dst.url, cfg, { runKey: 'append/5', mode: 'sync' })).toMatchObject({ rows: 0, done: true });
    await expectExact(2700);
    const after = await versions(dst.url);
    for (const [id, x] of before) expect(after.get(id), `row ${id} rewritten`).toBe(x);
    expect((await checkpoint('sync')).cursor).toMatchObject({ offset: statSync(path).size, line: 2701 });
  });

  it('a file whose first and only line had no line break yet is still the same file once rows are appended', async () => {
    const path = join(dir, 'one-line.csv');
    writeFileSync(path, orderLines(1, 1).trimEnd()); // no header line, one record, no line break
    settled(path);
    const cfg = csvConfig({ path, header: ['id', 'name', 'amount'], columns: COLUMNS });
    expect(await runCsv(dst.url, cfg, { runKey: 'one/1' })).toMatchObject({ rows: 1, done: true });
    appendFileSync(path, `\r\n${orderLines(2, 3, '\r\n')}`);
    // The record without a line break is read again (its cursor stood before it), then the two appended.
    expect(await runCsv(dst.url, cfg, { runKey: 'one/2', mode: 'sync' })).toMatchObject({ rows: 3, done: true });
    await expectExact(3);
  });

  it('a line a writer is still writing is not committed half: it waits, or is read again whole once it grows', async () => {
    const path = join(dir, 'growing.csv');
    const cfg = csvConfig({ path, columns: COLUMNS });
    writeFileSync(path, `${HEADER}${orderLines(1, 7)}8,parti`);
    expect(await runCsv(dst.url, cfg, { runKey: 'grow/1', mode: 'sync' })).toMatchObject({ rows: 7, done: true });
    appendFileSync(path, 'al name,8.00\n9');
    expect(await runCsv(dst.url, cfg, { runKey: 'grow/2', mode: 'sync' })).toMatchObject({ rows: 1, done: true });
    // A half line with too few fields waits even in a quiet file (no dead letter left behind once it is finished).
    settled(path);
    expect(await runCsv(dst.url, cfg, { runKey: 'grow/3', mode: 'sync' })).toMatchObject({ rows: 0, done: true });
    const [held] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'grow/3'`);
    expect(held?.warnings).toEqual([expect.stringMatching(/the last line of .*growing\.csv \(line 10\) has no line break and expected 3 fields, got 1: it is read once it ends with a line break/)]);
    // A writer that stopped mid-line, in a quiet file, with the fields all there: read, and read again once finished.
    appendFileSync(path, ',name 9,11.2');
    settled(path);
    expect(await runCsv(dst.url, cfg, { runKey: 'grow/4', mode: 'sync' })).toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, `SELECT amount::text FROM copy.items WHERE id = 9`)).toEqual([{ amount: '11.20' }]);
    appendFileSync(path, '5\n');
    expect(await runCsv(dst.url, cfg, { runKey: 'grow/5', mode: 'sync' })).toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, `SELECT count(*)::int AS n FROM tidemark.dead_letters WHERE integration = 'csv'`)).toEqual([{ n: 0 }]);
    expect(await sql(dst.url, 'SELECT id::text, name, amount::text FROM copy.items WHERE id >= 7 ORDER BY id')).toEqual([
      { id: '7', name: orderName(7), amount: '8.75' },
      { id: '8', name: 'partial name', amount: '8.00' },
      { id: '9', name: 'name 9', amount: '11.25' },
    ]);
    const [cp] = await sql<{ cursor: { offset: number } }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'sync'`);
    expect(cp?.cursor.offset).toBe(statSync(path).size);
  });

  it('a last record a writer is still writing inside a quoted field waits (a warning), rather than failing the file as broken', async () => {
    const path = join(dir, 'quoted.csv');
    const cfg = csvConfig({ path, columns: COLUMNS });
    writeFileSync(path, `${HEADER}${orderLines(1, 7)}8,"partial na`);
    expect(await runCsv(dst.url, cfg, { runKey: 'quote/1', mode: 'sync' })).toMatchObject({ rows: 7, done: true });
    const [held] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'quote/1'`);
    expect(held?.warnings).toEqual([expect.stringMatching(/ends inside a quoted field and the file changed \d+ s ago/)]);
    appendFileSync(path, 'me",8.00\n');
    expect(await runCsv(dst.url, cfg, { runKey: 'quote/2', mode: 'sync' })).toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, `SELECT name FROM copy.items WHERE id = 8`)).toEqual([{ name: 'partial name' }]);
    // A quoted value over several lines, its writer between them: waits too (it failed the run as a broken file).
    appendFileSync(path, '9,"first line\nsecond line\n');
    expect(await runCsv(dst.url, cfg, { runKey: 'quote/3', mode: 'sync' })).toMatchObject({ rows: 0, done: true });
    appendFileSync(path, 'third",9.00\n');
    expect(await runCsv(dst.url, cfg, { runKey: 'quote/4', mode: 'sync' })).toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, `SELECT name FROM copy.items WHERE id = 9`)).toEqual([{ name: 'first line\nsecond line\nthird' }]);
    // Left so, the file quiet: a broken file, the run fails naming the line where the record starts (line 13).
    appendFileSync(path, '10,"never closed\nmore\n');
    settled(path);
    await expect(runCsv(dst.url, cfg, { runKey: 'quote/5', mode: 'sync' })).rejects.toMatchObject({ nonRetryable: true, message: expect.stringMatching(/is not valid CSV in the record that starts on line 13 .*Quote Not Closed/) });
  });

  it('a truncated, replaced or rewritten file fails the next run clearly, non-retryable', async () => {
    const path = join(dir, 'changed.csv');
    const cfg = csvConfig({ path, columns: COLUMNS });
    writeFileSync(path, `${HEADER}${orderLines(1, 1500)}`);
    await runCsv(dst.url, cfg, { runKey: 'changed/1' });
    const size = statSync(path).size;
    const changed = (why: RegExp) => ({
      nonRetryable: true,
      type: 'CsvFileChangedError',
      message: expect.stringMatching(new RegExp(`^source\\.path ${path} is not the file the checkpoint was taken on \\(byte ${size}, after line 1501\\): ${why.source}.*tidemark backfill`)),
    });

    truncateSync(path, size - 100);
    await expect(runCsv(dst.url, cfg, { runKey: 'changed/2', mode: 'sync' })).rejects.toMatchObject(changed(/it has \d+ bytes now, fewer than the checkpoint's offset \(truncated or replaced\)/));

    writeFileSync(path, `id,name,amount,extra\r\n${orderLines(1, 3000)}`);
    await expect(runCsv(dst.url, cfg, { runKey: 'changed/3', mode: 'sync' })).rejects.toMatchObject(changed(/its header line changed \(replaced\)/));

    writeFileSync(path, `${HEADER}${orderLines(101, 3000)}`); // same header, other rows, larger: a new export
    await expect(runCsv(dst.url, cfg, { runKey: 'changed/4', mode: 'sync' })).rejects.toMatchObject(changed(/the bytes just before the checkpoint changed \(rewritten, not appended to\)/));
    const [run] = await sql(dst.url, `SELECT status, error FROM tidemark.runs WHERE run_id = 'changed/4'`);
    expect(run).toMatchObject({ status: 'failed', error: expect.stringContaining('rewritten, not appended to') });
    expect(await count(dst.url, 'copy.items')).toBe(1500); // nothing of the other files was written

    // Starting over is a new backfill (and a fresh sync checkpoint), as the message says.
    await sql(dst.url, `DELETE FROM tidemark.checkpoints WHERE integration = 'csv' AND slot = 'sync'`);
    expect(await runCsv(dst.url, cfg, { runKey: 'changed/5' })).toMatchObject({ rows: 2900, done: true });
    expect(await runCsv(dst.url, cfg, { runKey: 'changed/6', mode: 'sync' })).toMatchObject({ rows: 0, done: true });

    // A hand-written cursor past the end was never this file's: said so, not "truncated or replaced" (acceptance run).
    const end = statSync(path).size;
    await expect(runCsv(dst.url, cfg, { runKey: 'changed/7', from: { offset: end + 10 } })).rejects.toMatchObject({
      nonRetryable: true,
      message: `source.path ${path} has ${end} bytes, and the cursor's offset ${end + 10} is beyond its end: give a byte offset where a line starts, within the file (\`tidemark checkpoint show csv\` prints a real one), or null to read it from the start`,
    });
  });
});
