/**
 * The latency of a small API sync, two checkouts side by side (interleaved in one process, same embedded durable
 * cluster, same API): a time_window source on a local API answering after 50 ms (bench/lib/fast-api.ts, 300
 * orders), backfilled once, then syncs that find nothing new (one request each: the setup, one round trip, the
 * checkpoint), timed through runIntegration as a worker runs it. Prints the medians (the first 5 rounds are warm-up).
 *
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npx tsx bench/small-sync-ab.ts /tmp/before .        (ROUNDS=40 by default)
 */
import { resolve } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type * as ActivitiesModule from '../src/activities';
import type * as ConfigModule from '../src/config';
import { ORDER_COLUMN_TYPES } from '../src/mock-api';
import { startFastApi } from './lib/fast-api-process';
import { startBenchStack } from './lib/stack';

const ROUNDS = Number(process.env.ROUNDS ?? 40);
const WARM = 5;

type Activities = ReturnType<typeof ActivitiesModule.createActivities>;

async function main(): Promise<void> {
  const roots = process.argv.slice(2).map((r) => resolve(r));
  if (roots.length !== 2) throw new Error('usage: npx tsx bench/small-sync-ab.ts <checkout A> <checkout B>');
  const stack = await startBenchStack({ temporal: false, log: (s) => console.error(s), durability: 'durable' });
  const api = await startFastApi(resolve(__dirname, '..'), { records: 300, seed: 7, latencyMs: 50 });
  const quiet = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });
  try {
    const sides: { root: string; id: string; acts: Activities; ms: number[] }[] = [];
    for (const [i, root] of roots.entries()) {
      const { createActivities } = (await import(`${root}/src/activities/index.ts`)) as typeof ActivitiesModule;
      const { parseConfig } = (await import(`${root}/src/config/index.ts`)) as typeof ConfigModule;
      const id = `small-${i}`;
      const source = { kind: 'http', url: `${api.url}/v1/orders/window`, records: 'data', columns: ORDER_COLUMN_TYPES, pagination: { style: 'time_window', field: 'updated_at', hasMore: 'has_more' }, pageSize: 100, lag: 0 };
      const cfg = parseConfig({ integrations: [{ id, source, sink: { url: '${DST_URL}', table: `bench.small_${i}`, key: ['id'], create: true }, batchSize: 100 }] });
      const acts = createActivities({ config: () => cfg, env: { DST_URL: stack.dstUrl } });
      await quiet().run(acts.runIntegration, { integration: id, mode: 'backfill' as const, runKey: `${id}/backfill/${Date.now()}` });
      sides.push({ root, id, acts, ms: [] });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 ? [...sides].reverse() : sides) {
        const t0 = performance.now();
        const r = (await quiet().run(side.acts.runIntegration, { integration: side.id, mode: 'sync' as const, runKey: `${side.id}/sync/${Date.now()}/${round}` })) as { done: boolean };
        if (!r.done) throw new Error(`${side.root}: sync not done`);
        if (round >= WARM) side.ms.push(performance.now() - t0);
      }
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
    for (const s of sides) console.log(`${s.root}: one-request API sync, median ${median(s.ms).toFixed(1)} ms of ${s.ms.length} (interleaved)`);
  } finally {
    await api.stop();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
