import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { insertDeadLetters, LETTER_LOCK_BUCKETS } from '../../src/db/state';
import { retryDeadLetters } from '../../src/transform/retry-dead-letters';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let src: TestDatabase;
let dst: TestDatabase;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });
const ROWS = 1_000;
// One row per constraint of the target: CHECK (qty >= 0), NOT NULL note, FK customer_id.
const BAD = { check: 17, notNull: 444, fk: 901 };

function config(batchSize = 1_000): Config {
  return parseConfig({
    integrations: [
      {
        id: 'items',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.items', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.items', key: ['id'], create: false },
        batchSize,
      },
    ],
  });
}

async function run(runKey: string, cfg = config()): Promise<RunResult> {
  const acts = createActivities({ config: () => cfg, env: vars() });
  const input: RunInput = { integration: 'items', mode: 'backfill', runKey };
  return (await new MockActivityEnvironment().run(acts.runIntegration, input)) as RunResult;
}

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('bad_src'), createTestDatabase('bad_dst')]);
  await sql(
    src.url,
    `CREATE TABLE public.items (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, customer_id bigint, qty int, note text, code text);
     CREATE INDEX ON public.items (updated_at, id);
     INSERT INTO public.items
     SELECT g, '2024-01-01'::timestamptz + g * interval '1 second', 1 + g % 5,
            CASE WHEN g = ${BAD.check} THEN -1 ELSE g % 7 END,
            CASE WHEN g = ${BAD.notNull} THEN NULL ELSE E'line\\nwith\\ttab ' || g END,
            'c' || g
       FROM generate_series(1, ${ROWS}) g;
     UPDATE public.items SET customer_id = 99 WHERE id = ${BAD.fk};`,
  );
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(
    dst.url,
    `DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE; CREATE SCHEMA copy;
     CREATE TABLE copy.customers (id bigint PRIMARY KEY);
     INSERT INTO copy.customers SELECT generate_series(1, 5);
     CREATE TABLE copy.items (
       id bigint PRIMARY KEY, updated_at timestamptz NOT NULL,
       customer_id bigint CONSTRAINT items_customer_fk REFERENCES copy.customers (id),
       qty int CONSTRAINT items_qty_check CHECK (qty >= 0), note text NOT NULL, code text);`,
  );
});

async function expectThreeDeadLettersThenRetry(): Promise<void> {
  expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.items')).toEqual([{ n: String(ROWS - 3) }]);
  const letters = await sql<{ id: string; sqlstate: string; constraint_name: string | null; reason: string; stage: string; record: Record<string, string | null> }>(
    dst.url,
    `SELECT record->>'id' AS id, sqlstate, constraint_name, reason, stage, record FROM tidemark.dead_letters ORDER BY (record->>'id')::int`,
  );
  expect(letters.map((l) => [l.id, l.sqlstate, l.constraint_name, l.stage])).toEqual([
    [String(BAD.check), '23514', 'items_qty_check', 'write'],
    [String(BAD.notNull), '23502', null, 'write'],
    [String(BAD.fk), '23503', 'items_customer_fk', 'write'],
  ]);
  expect(letters[0]!.reason).toMatch(/^check_violation \(23514\) on items_qty_check: new row for relation "items" violates check constraint "items_qty_check"/);
  expect(letters[1]!.reason).toMatch(/^not_null_violation \(23502\) on column note: null value in column "note"/);
  expect(letters[2]!.reason).toMatch(/foreign_key_violation \(23503\) on items_customer_fk: .*Key \(customer_id\)=\(99\) is not present/);
  // The stored record is the target row by column name, escapes decoded: re-insertable as it is.
  expect(letters[0]!.record).toMatchObject({ id: String(BAD.check), qty: '-1', note: `line\nwith\ttab ${BAD.check}` });
  const [cp] = await sql<{ cursor: string[]; rows_done: string }>(dst.url, `SELECT cursor, rows_done::text FROM tidemark.checkpoints WHERE slot = 'backfill'`);
  expect(cp!.cursor[1]).toBe(String(ROWS));
  expect(cp!.rows_done).toBe(String(ROWS));
  expect(await sql(dst.url, 'SELECT status, rows_committed::text, rows_rejected::text FROM tidemark.runs')).toEqual([{ status: 'completed', rows_committed: String(ROWS), rows_rejected: '3' }]);

  // Still refused while the target is unchanged: the letters stay, with the constraint named.
  const early = await retryDeadLetters(config().integrations[0]!, vars());
  expect(early).toMatchObject({ pending: 3, written: 0 });
  expect(early.stillFailing.map((f) => f.reason.split(' ')[0])).toEqual(['check_violation', 'not_null_violation', 'foreign_key_violation']);

  await sql(dst.url, `ALTER TABLE copy.items DROP CONSTRAINT items_qty_check, DROP CONSTRAINT items_customer_fk, ALTER COLUMN note DROP NOT NULL`);
  const fixed = await retryDeadLetters(config().integrations[0]!, vars());
  expect(fixed).toEqual({ pending: 3, written: 3, superseded: 0, stillFailing: [] });
  const cols = 'id, updated_at, customer_id, qty, note, code';
  expect(await sql(dst.url, `SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS h, count(*)::text AS n FROM (SELECT ${cols} FROM copy.items) t`)).toEqual(
    await sql(src.url, `SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS h, count(*)::text AS n FROM (SELECT ${cols} FROM public.items) t`),
  );
  expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM tidemark.dead_letters WHERE retried_at IS NULL')).toEqual([{ n: '0' }]);
}

describe('rows the target refuses (SQLSTATE class 23) go to dead letters; the sync goes on', () => {
  it('direct COPY into an empty target: 3 bad rows of 1,000 → 997 written, 3 dead letters, checkpoint past the page; retry after the fix', async () => {
    expect(await run('bad/1')).toMatchObject({ rows: ROWS, done: true });
    await expectThreeDeadLettersThenRetry();
  });

  it('upsert into a non-empty target: the same', async () => {
    await sql(dst.url, `INSERT INTO copy.items (id, updated_at, customer_id, qty, note) VALUES (5, now(), 1, 0, 'old version')`);
    expect(await run('bad/2')).toMatchObject({ rows: ROWS, done: true });
    expect(await sql(dst.url, 'SELECT note FROM copy.items WHERE id = 5')).toEqual([{ note: 'line\nwith\ttab 5' }]);
    await expectThreeDeadLettersThenRetry();
  });

  it('a bad row read again while its letter is pending is counted on that letter, not filed twice (a backfill run again); once retried, a new refusal is a new letter', async () => {
    expect(await run('bad/again-1')).toMatchObject({ rows: ROWS, done: true });
    expect(await run('bad/again-2')).toMatchObject({ rows: ROWS, done: true });
    const letters = () => sql<{ id: string; seen: number; again: boolean; retried: boolean }>(dst.url, `SELECT record->>'id' AS id, seen, last_seen_at > created_at AS again, retried_at IS NOT NULL AS retried FROM tidemark.dead_letters ORDER BY id`);
    expect(await letters()).toEqual([String(BAD.check), String(BAD.notNull), String(BAD.fk)].map((id) => ({ id, seen: 2, again: true, retried: false })));
    // Each run still says what it refused.
    expect(await sql(dst.url, 'SELECT rows_rejected::text AS n FROM tidemark.runs ORDER BY started_at')).toEqual([{ n: '3' }, { n: '3' }]);
    // The same record three times in one page, the last for another reason: one letter seen 3 times, with the latest
    // reason (a reason that changed — a line number moved, --retry rewrote it — filed a second letter: an acceptance
    // run); then once more, at another stage: a letter of its own.
    const db = new pg.Client({ connectionString: dst.url });
    await db.connect();
    try {
      const record = { id: 'x1', qty: 'abc' };
      await insertDeadLetters(db, 'items', 'bad/direct', null, [{ record, reason: 'line 4: qty: not a number' }, { record: { qty: 'abc', id: 'x1' }, reason: 'line 4: qty: not a number' }, { record, reason: 'line 5: qty: not a number' }]);
      await insertDeadLetters(db, 'items', 'bad/direct', null, [{ record, reason: 'qty refused', stage: 'write' }]);
      expect(await sql(dst.url, `SELECT reason, stage, seen FROM tidemark.dead_letters WHERE record->>'id' = 'x1' ORDER BY id`)).toEqual([
        { reason: 'line 5: qty: not a number', stage: 'validate', seen: 3 },
        { reason: 'qty refused', stage: 'write', seen: 1 },
      ]);
      // A key refused as version A, then B, then A again (a change log): A's letter is the newest of the key, as
      // --retry ranks versions by letter (the review: A kept its first place, and --retry applied B over it).
      const [a, b] = [{ id: 'x2', qty: '-1' }, { id: 'x2', qty: '-2' }];
      await insertDeadLetters(db, 'items', 'bad/direct', null, [{ record: a, reason: 'qty < 0' }, { record: b, reason: 'qty < 0' }]);
      await insertDeadLetters(db, 'items', 'bad/direct', null, [{ record: a, reason: 'qty < 0' }]);
      expect(await sql(dst.url, `SELECT record->>'qty' AS qty, seen FROM tidemark.dead_letters WHERE record->>'id' = 'x2' ORDER BY id`)).toEqual([
        { qty: '-2', seen: 1 },
        { qty: '-1', seen: 2 },
      ]);
      const [txids] = await sql<{ older: boolean }>(dst.url, `SELECT min(created_txid) FILTER (WHERE record->>'qty' = '-2') < min(created_txid) FILTER (WHERE record->>'qty' = '-1') AS older FROM tidemark.dead_letters WHERE record->>'id' = 'x2'`);
      expect(txids).toEqual({ older: true });
      // Two transactions refusing one record at once (a page crossing a take's cut, read by two shards): the second
      // waits for the first to commit and counts on its letter (the review: each found none and filed one).
      const other = new pg.Client({ connectionString: dst.url });
      await other.connect();
      try {
        const x3 = { id: 'x3', qty: '-3' };
        await db.query('BEGIN');
        await other.query('BEGIN');
        await insertDeadLetters(db, 'items', 'bad/shard-0', null, [{ record: x3, reason: 'qty < 0' }]);
        let second = false;
        const pending = insertDeadLetters(other, 'items', 'bad/shard-1', null, [{ record: x3, reason: 'qty < 0 (again)' }]).then(() => (second = true));
        await new Promise((r) => setTimeout(r, 300));
        expect(second).toBe(false);
        await db.query('COMMIT');
        await pending;
        await other.query('COMMIT');
        expect(await sql(dst.url, `SELECT run_id, reason, seen FROM tidemark.dead_letters WHERE record->>'id' = 'x3' AND retried_at IS NULL`)).toEqual([{ run_id: 'bad/shard-1', reason: 'qty < 0 (again)', seen: 2 }]);
      } finally {
        await other.end();
      }
      // A page of 20,000 refused records takes at most LETTER_LOCK_BUCKETS locks (the review: a lock per record ran
      // PostgreSQL's shared lock table out of memory at about 20,000).
      await db.query('BEGIN');
      const many = Array.from({ length: 20_000 }, (_, i) => ({ record: { id: `m${i}`, qty: '-1' }, reason: 'qty < 0' }));
      await insertDeadLetters(db, 'items', 'bad/many', null, many);
      const [held] = await sql<{ n: number }>(dst.url, `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid::int = hashtext('tidemark.dead_letters') AND objsubid = 2`);
      expect(held!.n).toBeGreaterThan(0);
      expect(held!.n).toBeLessThanOrEqual(LETTER_LOCK_BUCKETS);
      await db.query('ROLLBACK');
      await sql(dst.url, `DELETE FROM tidemark.dead_letters WHERE record->>'id' IN ('x1', 'x2', 'x3')`);
    } finally {
      await db.end();
    }
    // Retried once the target takes them; a new refusal of the same record later is a new letter, pending.
    await sql(dst.url, `ALTER TABLE copy.items DROP CONSTRAINT items_qty_check, DROP CONSTRAINT items_customer_fk, ALTER COLUMN note DROP NOT NULL`);
    expect(await retryDeadLetters(config().integrations[0]!, vars())).toEqual({ pending: 3, written: 3, superseded: 0, stillFailing: [] });
    await sql(dst.url, `ALTER TABLE copy.items ADD CONSTRAINT items_qty_check CHECK (qty >= 0) NOT VALID`);
    expect(await run('bad/again-3')).toMatchObject({ rows: ROWS, done: true });
    expect((await letters()).map((l) => [l.id, l.seen, l.retried])).toEqual([
      [String(BAD.check), 2, true],
      [String(BAD.check), 1, false],
      [String(BAD.notNull), 2, true],
      [String(BAD.fk), 2, true],
    ]);
  });

  it('rows that only clash with each other (a second unique index) are isolated too', async () => {
    await sql(dst.url, `ALTER TABLE copy.items DROP CONSTRAINT items_qty_check, DROP CONSTRAINT items_customer_fk, ALTER COLUMN note DROP NOT NULL;
      CREATE UNIQUE INDEX items_code_key ON copy.items (code)`);
    // ids 100 and 800 land in different halves of the page: neither fails alone.
    await sql(src.url, `UPDATE public.items SET code = 'dup' WHERE id IN (100, 800)`);
    try {
      expect(await run('bad/3')).toMatchObject({ rows: ROWS, done: true });
      expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.items')).toEqual([{ n: String(ROWS - 1) }]);
      expect(await sql(dst.url, `SELECT record->>'id' AS id, sqlstate, constraint_name FROM tidemark.dead_letters`)).toEqual([{ id: '800', sqlstate: '23505', constraint_name: 'items_code_key' }]);
    } finally {
      await sql(src.url, `UPDATE public.items SET code = 'c' || id WHERE id IN (100, 800)`);
    }
  });

  it('a value its column cannot hold (SQLSTATE class 22: too long, out of range) is a dead letter too, naming the column; the sync goes on (an acceptance run: the whole run failed)', async () => {
    await sql(dst.url, `ALTER TABLE copy.items DROP CONSTRAINT items_qty_check, DROP CONSTRAINT items_customer_fk, ALTER COLUMN note DROP NOT NULL, ALTER COLUMN code TYPE varchar(4), ALTER COLUMN qty TYPE numeric(1,0)`);
    await sql(src.url, `UPDATE public.items SET qty = 12 WHERE id = 300`);
    try {
      // code 'c1000' is one character too long for varchar(4); qty 12 does not fit numeric(1,0).
      expect(await run('bad/22')).toMatchObject({ rows: ROWS, done: true });
      expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.items')).toEqual([{ n: String(ROWS - 2) }]);
      expect(await sql(dst.url, `SELECT record->>'id' AS id, sqlstate, reason FROM tidemark.dead_letters ORDER BY (record->>'id')::int`)).toEqual([
        { id: '300', sqlstate: '22003', reason: expect.stringMatching(/^the target refuses a value in column qty: numeric field overflow \(SQLSTATE 22003\)$/) },
        { id: '1000', sqlstate: '22001', reason: expect.stringMatching(/^the target refuses a value in column code: value too long for type character varying\(4\) \(SQLSTATE 22001\)$/) },
      ]);
    } finally {
      await sql(src.url, `UPDATE public.items SET qty = 300 % 7 WHERE id = 300`);
    }
  });

  it('a refused new version whose column is then widened (ALTER TABLE … TYPE rewrites every row) is applied by --retry, not called superseded (an acceptance run)', async () => {
    await sql(dst.url, `ALTER TABLE copy.items DROP CONSTRAINT items_qty_check, DROP CONSTRAINT items_customer_fk, ALTER COLUMN note DROP NOT NULL, ALTER COLUMN qty TYPE numeric(1,0)`);
    expect(await run('bad/widen-1')).toMatchObject({ rows: ROWS, done: true });
    await sql(src.url, `UPDATE public.items SET qty = 12 WHERE id = 300`);
    try {
      expect(await run('bad/widen-2')).toMatchObject({ rows: ROWS, done: true });
      expect(await sql(dst.url, `SELECT record->>'id' AS id, sqlstate FROM tidemark.dead_letters`)).toEqual([{ id: '300', sqlstate: '22003' }]);
      // To bigint: a real rewrite (every row gets the ALTER's xmin; numeric(1,0) → numeric(3,0) would rewrite none).
      await sql(dst.url, `ALTER TABLE copy.items ALTER COLUMN qty TYPE bigint`);
      expect(await retryDeadLetters(config().integrations[0]!, vars())).toEqual({ pending: 1, written: 1, superseded: 0, stillFailing: [] });
      expect(await sql(dst.url, 'SELECT qty::text FROM copy.items WHERE id = 300')).toEqual([{ qty: '12' }]);

      // The review: the key's next version synced between the letter and the rewrite is newer by its cursor
      // (updated_at), so the letter is superseded, not applied over it.
      await sql(dst.url, `ALTER TABLE copy.items ALTER COLUMN qty TYPE numeric(1,0) USING least(qty, 9)`);
      await sql(src.url, `UPDATE public.items SET qty = 13 WHERE id = 300`);
      expect(await run('bad/widen-3')).toMatchObject({ rows: ROWS, done: true });
      await sql(src.url, `UPDATE public.items SET qty = 5, updated_at = updated_at + interval '1 year' WHERE id = 300`);
      expect(await run('bad/widen-4')).toMatchObject({ rows: ROWS, done: true });
      await sql(dst.url, `ALTER TABLE copy.items ALTER COLUMN qty TYPE bigint`);
      expect(await retryDeadLetters(config().integrations[0]!, vars())).toEqual({ pending: 1, written: 0, superseded: 1, stillFailing: [] });
      expect(await sql(dst.url, 'SELECT qty::text FROM copy.items WHERE id = 300')).toEqual([{ qty: '5' }]);
    } finally {
      await sql(src.url, `UPDATE public.items SET qty = 300 % 7, updated_at = '2024-01-01'::timestamptz + 300 * interval '1 second' WHERE id = 300`);
    }
  });

  it('a statement trigger failing with a bad value (no row to blame) fails the run, without looping on an empty page (the review)', async () => {
    await sql(dst.url, `CREATE FUNCTION copy.strict_setting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM 'not a number'::int; RETURN NULL; END $$;
      CREATE TRIGGER strict AFTER INSERT ON copy.items FOR EACH STATEMENT EXECUTE FUNCTION copy.strict_setting()`);
    await expect(run('bad/trigger', config(1))).rejects.toMatchObject({ nonRetryable: true, type: 'ConstraintViolationError', message: expect.stringMatching(/could not be isolated: the target refuses a value: invalid input syntax for type integer/) });
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.items')).toEqual([{ n: '0' }]);
  }, 60_000);

  it('a target that refuses most rows fails at once, non-retryable, naming the constraint; nothing of the page is written', async () => {
    await sql(dst.url, `ALTER TABLE copy.items ADD CONSTRAINT items_qty_small CHECK (qty < 1)`);
    await expect(run('bad/4', config(200))).rejects.toMatchObject({
      nonRetryable: true,
      type: 'TooManyBadRowsError',
      message: expect.stringMatching(/refused \d+ or more of 200 rows.*items_qty_small.*Fix the target table/s),
    });
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.items')).toEqual([{ n: '0' }]);
    expect(await sql(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`)).toEqual([{ cursor: null }]);
    expect(await sql(dst.url, 'SELECT status FROM tidemark.runs')).toEqual([{ status: 'failed' }]);
  });
});
