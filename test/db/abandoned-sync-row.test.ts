import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunResult } from '../../src/activities';
import { parseConfig } from '../../src/config';
import { seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * A sync that ended without recording it (its cancel came while the state database was down: recordCancelled gave
 * up) left its row `running` for good. The next sync holds the integration's lock, so no other sync writes: it
 * closes such rows as failed, saying why. A backfill's running row is not a sync's to close.
 */
let src: TestDatabase;
let dst: TestDatabase;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('abandon_src'), createTestDatabase('abandon_dst')]);
  await seedOrders(src.url, { rows: 100 });
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('a sync row left running', () => {
  it('is closed as failed by the next sync, naming it; a backfill row and the new sync are untouched', async () => {
    const config = parseConfig({
      integrations: [{ id: 'orders', source: { kind: 'postgres', url: '${SRC}', table: 'public.orders', cursor: ['updated_at', 'id'] }, sink: { url: '${DST}', table: 'copy.orders', key: ['id'], create: true } }],
    });
    const activities = createActivities({ config: () => config, env: { SRC: src.url, DST: dst.url } });
    const run = (runKey: string) => new MockActivityEnvironment().run(activities.runIntegration, { integration: 'orders', mode: 'sync' as const, runKey }) as Promise<RunResult>;
    expect(await run('wf/first')).toMatchObject({ rows: 100, done: true });
    // As a cancel with the state database down leaves them: running, nobody writing.
    await sql(dst.url, `INSERT INTO tidemark.runs (run_id, integration, kind, status, start_cursor, end_cursor) VALUES ('wf/lost', 'orders', 'sync', 'running', 'null', 'null'), ('wf/backfill', 'orders', 'backfill', 'running', 'null', 'null')`);
    expect(await run('wf/next')).toMatchObject({ rows: 0, done: true });
    const rows = await sql<{ run_id: string; status: string; error: string | null }>(dst.url, `SELECT run_id, status, error FROM tidemark.runs ORDER BY run_id`);
    expect(rows).toEqual([
      { run_id: 'wf/backfill', status: 'running', error: null },
      { run_id: 'wf/first', status: 'completed', error: null },
      { run_id: 'wf/lost', status: 'failed', error: 'ended without recording how (cancelled or failed while the state database could not be reached, or its worker gone); a later sync ran: wf/next' },
      { run_id: 'wf/next', status: 'completed', error: null },
    ]);
  });
});
