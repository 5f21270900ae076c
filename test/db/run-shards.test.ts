import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate';
import { listRuns, readRun, startRun } from '../../src/db/state';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let db: TestDatabase;
let c: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('run_shards');
  c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await migrate(c);
});

afterAll(async () => {
  await c?.end();
  await db?.drop();
});

describe('tidemark.runs.shards (migration 017)', () => {
  it('a sharded run records its ranges, a later attempt keeps them, an unsharded run has none; runs list from a database not migrated yet', async () => {
    expect(await startRun(c, 'r/sharded', 'orders', 'backfill', null, {}, 4)).toBe(true);
    expect(await startRun(c, 'r/sharded', 'orders', 'backfill', null, { attempt: 2 })).toBe(true); // a retried plan without the count
    expect(await startRun(c, 'r/resume', 'orders', 'resume', null, {}, 3)).toBe(true);
    expect(await startRun(c, 'r/plain', 'orders', 'backfill', null)).toBe(true);
    expect(await readRun(c, 'r/sharded')).toMatchObject({ shards: '4', attempts: '2' });
    expect(Object.fromEntries((await listRuns(c, 'orders')).map((r) => [r.run_id, r.shards]))).toEqual({ 'r/sharded': '4', 'r/resume': '3', 'r/plain': null });
    // `status` reads runs without migrating: a CLI newer than the database still lists them (as unsharded).
    await c.query('ALTER TABLE tidemark.runs DROP COLUMN shards');
    expect((await listRuns(c, 'orders')).map((r) => [r.run_id, r.shards]).sort()).toEqual([
      ['r/plain', null],
      ['r/resume', null],
      ['r/sharded', null],
    ]);
  });
});
