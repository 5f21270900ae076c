import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig } from '../../src/config';
import { encodeCopyRows } from '../../src/pg/copy-text';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let dst: TestDatabase;
let client: pg.Client;
const COLUMNS = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'label', type: 'text', notNull: false },
];

beforeAll(async () => {
  dst = await createTestDatabase('upsert_paths');
  client = new pg.Client({ connectionString: dst.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await dst?.drop();
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE; CREATE SCHEMA copy; CREATE TABLE copy.items (id bigint PRIMARY KEY, label text)');
});

const page = (from: number, to: number, label = (i: number) => `item ${i}`) => {
  const rows: string[][] = [];
  for (let i = from; i <= to; i++) rows.push([String(i), label(i)]);
  return Buffer.from(encodeCopyRows(rows));
};
const noState = async () => undefined;

async function sink(): Promise<PostgresSink> {
  const s = new PostgresSink(client, { kind: 'postgres', table: 'copy.items', key: ['id'], create: false } as never);
  await s.prepare(COLUMNS, { keyUniqueInPage: true });
  return s;
}

describe('the sink on a target that already has rows', () => {
  it('pages of new keys are COPYed straight in; the first page with a key already there rolls back and is upserted, and so is every later page', async () => {
    await sql(dst.url, `INSERT INTO copy.items SELECT g, 'old ' || g FROM generate_series(1, 100) g`);
    const s = await sink();
    expect(s.directLoad).toBe(true);
    expect(await s.writeCopy(page(101, 200), 100, noState)).toEqual({ written: 100 });
    expect(s.directLoad).toBe(true);
    // 150..250: 50 keys there (150..200, unchanged from the page before), 50 new.
    expect(await s.writeCopy(page(150, 250), 101, noState)).toEqual({ written: 50 });
    expect(s.directLoad).toBe(false);
    expect(await s.writeCopy(page(240, 300), 61, noState)).toEqual({ written: 50 });
    expect(await sql(dst.url, `SELECT count(*)::text AS n, count(*) FILTER (WHERE label LIKE 'old %')::text AS old FROM copy.items`)).toEqual([{ n: '300', old: '100' }]);
  });

  it('after a mostly unchanged page, unchanged rows are left alone before ON CONFLICT: not even locked', async () => {
    await sql(dst.url, `INSERT INTO copy.items SELECT g, 'item ' || g FROM generate_series(1, 400) g`);
    const s = await sink();
    // The first page finds keys there (direct COPY rolls back) and upserts with ON CONFLICT … WHERE: no row written.
    expect(await s.writeCopy(page(1, 200), 200, noState)).toEqual({ written: 0 });
    // The next page: one row changed, the others equal: filtered out first, so they keep xmax 0 (no row lock written).
    expect(await s.writeCopy(page(201, 400, (i) => (i === 300 ? 'changed' : `item ${i}`)), 200, noState)).toEqual({ written: 1 });
    const rows = await sql<{ locked: string; changed: string }>(
      dst.url,
      `SELECT count(*) FILTER (WHERE xmax::text <> '0' AND id <> 300)::text AS locked, count(*) FILTER (WHERE label = 'changed')::text AS changed FROM copy.items WHERE id > 200`,
    );
    expect(rows).toEqual([{ locked: '0', changed: '1' }]);
    // A mostly changed page goes back to the plain upsert and writes every changed row.
    expect(await s.writeCopy(page(1, 400, (i) => `new ${i}`), 400, noState)).toEqual({ written: 400 });
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM copy.items WHERE label LIKE 'new %'`)).toEqual([{ n: '400' }]);
  });
});

describe('prefetch on the upsert path', () => {
  it("the next page's read starts before the current page's upsert commits", async () => {
    await sql(dst.url, `INSERT INTO copy.items SELECT g, 'old ' || g FROM generate_series(1, 2000) g`);
    const module = join(__dirname, '..', 'fixtures', 'timed-counter-source.js');
    const config = parseConfig({
      integrations: [{ id: 'timed', source: { kind: 'timed', module, total: 2000, delayMs: 30 }, sink: { url: dst.url, table: 'copy.items', key: ['id'] }, batchSize: 200 }],
    });
    const reads = ((globalThis as { __timedReads?: { after: number | null; start: number; end: number }[] }).__timedReads ??= []);
    reads.length = 0;
    const committed: number[] = [];
    const acts = createActivities({ config: () => config, afterBatch: async () => void committed.push(performance.now()) });
    const r = (await new MockActivityEnvironment().run(acts.runIntegration, { integration: 'timed', mode: 'backfill', runKey: 'timed/1' } satisfies RunInput)) as RunResult;
    expect(r).toMatchObject({ rows: 2000, done: true });
    const [run] = await sql(dst.url, `SELECT rows_written::text AS w FROM tidemark.runs WHERE run_id = 'timed/1'`);
    expect(run).toEqual({ w: '2000' }); // every row an update of an existing key: the staged upsert, not a direct COPY
    expect(committed).toHaveLength(10);
    // Page k+1 (read k+1, 0-based) starts when page k is handed to the writer, before page k commits.
    for (let k = 0; k < 9; k++) expect(reads[k + 1]!.start, `read of page ${k + 2} vs commit of page ${k + 1}`).toBeLessThan(committed[k]!);
  });
});
