import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { moveSyncCheckpoint } from '../../src/db/state';
import { connect } from '../../src/pg/connect';
import { ordersConfig, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * source.cursor changed under a saved checkpoint: a position in [updated_at, id] has the shape of one in
 * [created_at, id], so it parsed, and a sync read from it, skipping rows (an acceptance run: 100 rows). Each slot
 * now keeps the cursor columns it was saved for (migration 018), and a run refuses another.
 */
let src: TestDatabase;
let dst: TestDatabase;
let n = 0;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('cursor_changed_src'), createTestDatabase('cursor_changed_dst')]);
  // created_at runs the other way from updated_at: rows early in one are late in the other.
  await sql(
    src.url,
    `CREATE TABLE public.orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, created_at timestamptz NOT NULL, status text NOT NULL);
     CREATE INDEX ON public.orders (updated_at, id); CREATE INDEX ON public.orders (created_at, id);
     INSERT INTO public.orders SELECT g, '2024-01-01'::timestamptz + g * interval '1 minute', '2023-01-01'::timestamptz + (201 - g) * interval '1 minute', 'new' FROM generate_series(1, 200) g`,
  );
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

function run(cursor: string[], mode: RunInput['mode'] = 'sync'): Promise<RunResult> {
  const input: RunInput = { integration: 'orders', mode, runKey: `changed/${++n}` };
  const acts = createActivities({ config: () => ordersConfig({ cursor }, { batchSize: 50 }), env: { SRC_URL: src.url, DST_URL: dst.url } });
  return new MockActivityEnvironment().run(acts.runIntegration, input) as Promise<RunResult>;
}

const copied = async () => Number((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM copy.orders'))[0]!.n);
const slot = async (name: string) => (await sql<{ cursor: string; cursor_of: string | null }>(dst.url, `SELECT cursor::text, cursor_of::text FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = $1`, [name]))[0];

describe('source.cursor changed under a saved checkpoint', () => {
  it('a sync saved for [updated_at, id] is refused under [created_at, id] (same shape), naming both and how to go on; nothing moves', async () => {
    await sql(src.url, `UPDATE public.orders SET updated_at = '2024-01-01'::timestamptz + id * interval '1 minute'`);
    expect((await run(['updated_at', 'id'])).rows).toBe(200);
    expect((await slot('sync'))!.cursor_of).toBe('{"columns": ["updated_at", "id"]}');
    const before = await slot('sync');
    await sql(src.url, `INSERT INTO public.orders VALUES (201, now() - interval '1 hour', '2022-06-01', 'new')`);
    await expect(run(['created_at', 'id'])).rejects.toThrow(
      /the sync checkpoint of orders was saved for cursor \[updated_at, id\], but source\.cursor is now \[created_at, id\]: .* would skip rows\. `tidemark checkpoint reset orders --yes`/,
    );
    expect(await slot('sync')).toEqual(before);
    expect(await copied()).toBe(200);
  });

  it('a reordered cursor ([id, updated_at]) gets the same refusal, not a parse error of its values', async () => {
    await expect(run(['id', 'updated_at'])).rejects.toThrow(/saved for cursor \[updated_at, id\], but source\.cursor is now \[id, updated_at\]/);
  });

  it('after `checkpoint reset` under the new cursor (it saves the new columns), the sync reads everything, the missed row too', async () => {
    const db = await connect(dst.url);
    try {
      await moveSyncCheckpoint(db, 'orders', null, { columns: ['created_at', 'id'] });
    } finally {
      await db.end();
    }
    expect((await run(['created_at', 'id'])).rows).toBe(201);
    expect(await copied()).toBe(201);
    // A checkpoint at the beginning is the beginning in any columns: a reset saved under others is not refused (review).
    const again = await connect(dst.url);
    try {
      await moveSyncCheckpoint(again, 'orders', null, { columns: ['updated_at', 'id'] });
    } finally {
      await again.end();
    }
    expect((await run(['created_at', 'id'])).rows).toBe(201);
    expect((await slot('sync'))!.cursor_of).toBe('{"columns": ["created_at", "id"]}');
  });

  it('a backfill from the start under other columns replaces the sync checkpoint it supersedes; a slot saved before migration 018 (no columns) is still read', async () => {
    expect((await run(['updated_at', 'id'], 'backfill')).rows).toBe(201);
    expect((await slot('sync'))!.cursor_of).toBe('{"columns": ["updated_at", "id"]}');
    expect((await slot('backfill'))!.cursor_of).toBe('{"columns": ["updated_at", "id"]}');
    // A resume under other columns: refused the same way.
    await sql(dst.url, `UPDATE tidemark.checkpoints SET status = 'running' WHERE integration = 'orders' AND slot = 'backfill'`);
    await expect(run(['created_at', 'id'], 'resume')).rejects.toThrow(/the backfill checkpoint of orders was saved for cursor \[updated_at, id\].*`tidemark backfill orders`/);
    await sql(dst.url, `UPDATE tidemark.checkpoints SET cursor_of = NULL WHERE integration = 'orders'`);
    expect((await run(['updated_at', 'id'])).rows).toBe(0);
    expect((await slot('sync'))!.cursor_of).toBe('{"columns": ["updated_at", "id"]}');
  });
});
