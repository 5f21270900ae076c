import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type ActivityDeps, type RunInput, type RunResult } from '../../src/activities';
import { ConfigError, parseConfig, type Config } from '../../src/config';
import { addInstance } from '../../src/instances';
import { digest, seedOrders, sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// maxConcurrentRuns of a template, through the real run activity on real PostgreSQL: two instances started at once.
let src: TestDatabase;
let dst: TestDatabase;
let env: NodeJS.ProcessEnv;
let config: Config;
const ROWS = 150;

const template = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  template: true,
  source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
  sink: { kind: 'postgres', url: '${DST_URL}', table: `${id}_\${instance.id}.orders`, key: ['id'], create: true },
  batchSize: 25,
  ...extra,
});

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('slots_src'), createTestDatabase('slots_dst')]);
  for (const t of ['acme', 'globex']) await seedOrders(src.url, { rows: ROWS, table: `public.orders_${t}` });
  env = { SRC_URL: src.url, DST_URL: dst.url };
  config = parseConfig({ integrations: [template('capped', { maxConcurrentRuns: 1 }), template('free'), template('pair', { maxConcurrentRuns: 2 })] });
  for (const t of ['capped', 'free', 'pair']) for (const i of ['acme', 'globex']) await addInstance({ config, template: t, instance: i, env });
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

/** Which run wrote each batch, in commit order; the first batch of a run waits (≤ 1.5 s) for another run to write one. */
function recorder() {
  const events: string[] = [];
  const afterBatch: ActivityDeps['afterBatch'] = async ({ integration, pages }) => {
    events.push(integration);
    if (pages !== 1) return;
    const deadline = Date.now() + 1_500;
    while (Date.now() < deadline && !events.some((e) => e !== integration)) await sleep(20);
  };
  /** Runs interleaved when the order of writers switches more than once. */
  const switches = () => events.filter((e, i) => i > 0 && e !== events[i - 1]).length;
  return { events, afterBatch, switches };
}

function run(integration: string, mode: RunInput['mode'], runKey: string, extra: Partial<ActivityDeps> = {}): Promise<RunResult> {
  const activities = createActivities({ config: () => config, env, ...extra });
  return new MockActivityEnvironment().run(activities.runIntegration, { integration, mode, runKey }) as Promise<RunResult>;
}

const runRows = (integration: string) =>
  sql<{ status: string; error: string | null; started_at: string; finished_at: string | null }>(
    dst.url,
    `SELECT status, error, started_at::text, finished_at::text FROM tidemark.runs WHERE integration = $1 ORDER BY started_at`,
    [integration],
  );

describe('maxConcurrentRuns per template', () => {
  it('maxConcurrentRuns 1: two instances started at once never run at the same time, and both finish', async () => {
    const r = recorder();
    const [a, g] = await Promise.all([run('capped/acme', 'backfill', 'c/a', { afterBatch: r.afterBatch }), run('capped/globex', 'backfill', 'c/g', { afterBatch: r.afterBatch })]);
    expect(a).toMatchObject({ rows: ROWS, done: true });
    expect(g).toMatchObject({ rows: ROWS, done: true });
    expect(r.events).toHaveLength(12);
    expect(r.switches()).toBe(1); // all of one instance's batches, then all of the other's
    const [ra] = await runRows('capped/acme');
    const [rg] = await runRows('capped/globex');
    const [first, second] = ra!.started_at < rg!.started_at ? [ra!, rg!] : [rg!, ra!];
    expect(new Date(first.finished_at!).getTime()).toBeLessThanOrEqual(new Date(second.started_at).getTime());
    expect(await digest(dst.url, 'capped_acme.orders')).toEqual(await digest(src.url, 'public.orders_acme'));
    expect(await digest(dst.url, 'capped_globex.orders')).toEqual(await digest(src.url, 'public.orders_globex'));
  });

  it('without a limit (or with room for both) the same two runs overlap', async () => {
    for (const t of ['free', 'pair']) {
      const r = recorder();
      const results = await Promise.all([run(`${t}/acme`, 'backfill', `${t}/a`, { afterBatch: r.afterBatch }), run(`${t}/globex`, 'backfill', `${t}/g`, { afterBatch: r.afterBatch })]);
      expect(results.map((x) => x.rows)).toEqual([ROWS, ROWS]);
      expect(r.switches(), t).toBeGreaterThan(1);
    }
  });

  it('a sync finding every slot taken waits briefly, then is skipped as busy; the backfill holding it goes on', async () => {
    let hold = true;
    let writing = false;
    const backfill = run('capped/acme', 'backfill', 'c/a2', {
      afterBatch: async () => {
        writing = true;
        while (hold) await sleep(20);
      },
    });
    // A new backfill reads acme again from the start: it holds the only slot while its first batch is held.
    while (!writing) await sleep(20);
    const t0 = Date.now();
    const sync = await run('capped/globex', 'sync', 'c/g-sync', { syncLockWaitMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(sync).toMatchObject({ rows: 0, stoppedBy: 'busy' });
    const last = (await runRows('capped/globex')).at(-1)!;
    expect(last.status).toBe('skipped');
    expect(last.error).toBe('template capped was at its maxConcurrentRuns (1): runs of other instances were writing');
    hold = false;
    expect(await backfill).toMatchObject({ done: true });
    // With the slot free again the next sync runs.
    expect(await run('capped/globex', 'sync', 'c/g-sync2', { syncLockWaitMs: 300 })).toMatchObject({ done: true });
  });

  it('is checked when the config loads', () => {
    const bad = (v: unknown) => () => parseConfig({ integrations: [template('t', { maxConcurrentRuns: v })] });
    expect(bad(0)).toThrow(ConfigError);
    expect(bad(0)).toThrow(/maxConcurrentRuns: must be a whole number from 1 to 10000/);
    expect(bad(1.5)).toThrow(/maxConcurrentRuns: must be a whole number/);
    const notTemplate = () => parseConfig({ integrations: [{ ...template('t'), template: false, maxConcurrentRuns: 2, source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_acme', cursor: ['updated_at', 'id'] }, sink: { url: '${DST_URL}', table: 'x.orders', key: ['id'] } }] });
    expect(notTemplate).toThrow(/maxConcurrentRuns: is for templates/);
    expect(config.templates!.find((t) => t.id === 'capped')!.maxConcurrentRuns).toBe(1);
    expect(config.templates!.find((t) => t.id === 'free')!.maxConcurrentRuns).toBeUndefined();
  });
});
