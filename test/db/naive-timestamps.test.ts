import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { toFailure } from '../../src/activities/failures';
import type { PostgresSourceConfig } from '../../src/config';
import { connect } from '../../src/pg/connect';
import { PostgresSource, SourceSetupError } from '../../src/sources/postgres/postgres-source';
import { ordersConfig, sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let src: TestDatabase;
let dst: TestDatabase;
let n = 0;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('naive_src'), createTestDatabase('naive_dst')]);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  // updated_at is the writers' wall-clock time: timestamp WITHOUT time zone.
  await sql(
    src.url,
    `DROP TABLE IF EXISTS public.orders;
     CREATE TABLE public.orders (id bigint PRIMARY KEY, updated_at timestamp NOT NULL, status text NOT NULL, total numeric(12,2), note text);
     CREATE INDEX ON public.orders (updated_at, id)`,
  );
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

function sync(timeZone: string): Promise<RunResult> {
  const input: RunInput = { integration: 'orders', mode: 'sync', runKey: `naive/${++n}` };
  const acts = createActivities({ config: () => ordersConfig({ lag: '3s', timeZone }), env: { SRC_URL: src.url, DST_URL: dst.url } });
  return new MockActivityEnvironment().run(acts.runIntegration, input) as Promise<RunResult>;
}

const copied = async () => (await sql<{ id: string }>(dst.url, 'SELECT id::text FROM copy.orders ORDER BY id')).map((r) => r.id);

/**
 * Writers in `zone` stamp rows with their local time (localtimestamp in a session set to that zone):
 * row 1 an hour ago, committed; row 2 now, in a transaction that commits only after the first sync;
 * row 3 just after, committed at once. The first sync must take row 1 (older than the 3 s lag) and
 * nothing newer; the late row 2 must arrive in the next run, with row 3.
 * West of UTC, a high-water mark taken in UTC is hours ahead of the writers: the first sync takes row 3
 * and its cursor passes row 2 before row 2 commits, so row 2 is lost. East of UTC it is hours behind:
 * row 1 waits for hours.
 */
async function scenario(zone: string): Promise<{ first: string[]; second: string[] }> {
  const writer = await connect(src.url);
  const late = await connect(src.url);
  try {
    for (const c of [writer, late]) await c.query(`SET TimeZone = '${zone}'`);
    await writer.query(`INSERT INTO public.orders VALUES (1, localtimestamp - interval '1 hour', 'old', 1, NULL)`);
    await late.query('BEGIN');
    await late.query(`INSERT INTO public.orders VALUES (2, localtimestamp, 'late', 2, NULL)`);
    await sleep(50);
    await writer.query(`INSERT INTO public.orders VALUES (3, localtimestamp, 'prompt', 3, NULL)`);
    await sync(zone);
    const first = await copied();
    await late.query('COMMIT');
    await sleep(3_200); // rows 2 and 3 are now older than the lag
    await sync(zone);
    return { first, second: await copied() };
  } finally {
    await Promise.all([writer.end(), late.end()]);
  }
}

describe('timestamp without time zone cursors (writers not on UTC)', () => {
  it('writers west of UTC (America/Los_Angeles): a late commit inside lag arrives in the next run', async () => {
    expect(await scenario('America/Los_Angeles')).toEqual({ first: ['1'], second: ['1', '2', '3'] });
  });

  it('writers east of UTC (Asia/Tokyo): rows older than lag arrive in this run, not hours late', async () => {
    expect(await scenario('Asia/Tokyo')).toEqual({ first: ['1'], second: ['1', '2', '3'] });
  });

  it('the high-water mark is now - lag on the writers\u2019 clock, as exact text', async () => {
    const cfg = ordersConfig({ url: src.url, lag: '1m', timeZone: 'Asia/Tokyo' }).integrations[0]!.source as PostgresSourceConfig;
    const s = new PostgresSource(await connect(src.url), cfg);
    const plan = await s.prepare({});
    await s.close();
    const [r] = await sql<{ diff: string }>(src.url, `SELECT extract(epoch FROM (now() AT TIME ZONE 'Asia/Tokyo') - $1::timestamp)::text AS diff`, [plan.highWater]);
    expect(Number(r!.diff)).toBeGreaterThanOrEqual(60);
    expect(Number(r!.diff)).toBeLessThan(65);
    expect(plan.highWater).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+$/); // no offset: the column's own type
  });

  it('without source.timeZone, prepare fails non-retryable naming source.timeZone', async () => {
    const cfg = ordersConfig({ url: src.url }).integrations[0]!.source as PostgresSourceConfig;
    const s = new PostgresSource(await connect(src.url), cfg);
    const err = await s.prepare({}).catch((e: unknown) => e);
    await s.close();
    expect(err).toBeInstanceOf(SourceSetupError);
    expect(String(err)).toMatch(/source\.timeZone: is required: cursor column "updated_at" of public\.orders is timestamp without time zone/);
    const failure = toFailure(err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
  });
});
