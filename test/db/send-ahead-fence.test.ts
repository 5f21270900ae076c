import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig } from '../../src/config';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// A page sent ahead is fenced on the cursor of the page before it: with a source whose cursor does not advance
// for a page (a time_window group page, a feed's last inner page), that page's rollback left the fence standing,
// and the page sent ahead committed past rows never written (found by a review; lost for good, resume included).
let dst: TestDatabase;

beforeAll(async () => {
  dst = await createTestDatabase('fence_dst');
  await sql(dst.url, `CREATE TABLE public.t (id bigint PRIMARY KEY, v text CHECK (v <> 'bad'))`);
});
afterAll(async () => {
  await dst?.drop();
});

const config = parseConfig({
  integrations: [
    {
      id: 'same',
      source: { kind: 'same', module: join(__dirname, '..', 'fixtures', 'repeating-cursor-source.js'), bad: 'bad' },
      sink: { url: '${DST_URL}', table: 'public.t', key: ['id'], create: false },
      batchSize: 100,
    },
  ],
});

function run(input: Partial<RunInput>): Promise<RunResult> {
  const acts = createActivities({ config: () => config, env: { DST_URL: dst.url } });
  return new MockActivityEnvironment().run(acts.runIntegration, { integration: 'same', mode: 'backfill', runKey: 'f/1', ...input } as RunInput) as Promise<RunResult>;
}

describe('pages sent ahead', () => {
  it('never commit past a page that rolled back when both pages carry the same cursor', async () => {
    await expect(run({})).rejects.toMatchObject({ type: 'TooManyBadRowsError' });
    // The checkpoint stands before the refused page, and nothing after it was written.
    expect(await sql(dst.url, `SELECT cursor::text AS c FROM tidemark.checkpoints WHERE integration = 'same'`)).toEqual([{ c: '50' }]);
    expect(await sql(dst.url, `SELECT count(*)::int AS n, max(id)::int AS m FROM public.t`)).toEqual([{ n: 500, m: 500 }]);
    // Once the target accepts the rows, a resume writes every one of them.
    await sql(dst.url, `ALTER TABLE public.t DROP CONSTRAINT t_v_check`);
    expect(await run({ runKey: 'f/2', mode: 'resume' })).toMatchObject({ done: true, cursor: 60 });
    expect(await sql(dst.url, `SELECT count(*)::int AS n, count(*) FILTER (WHERE v = 'bad')::int AS bad FROM public.t`)).toEqual([{ n: 700, bad: 100 }]);
  });
});
