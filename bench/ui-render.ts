/**
 * Server time of `tidemark ui`'s overview with 1,000 integrations (`npx tsx bench/ui-render.ts`).
 * State in PostgreSQL: DATABASE_URL's server (a database tidemark_ui_bench) or an embedded one.
 * 20 runs per integration, checkpoints, some failing, some dead letters. Renders in process (no
 * network, no Temporal: its two listings are not part of this figure) and prints the median of several.
 */
import { parseConfig } from '../src/config';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/dev';
import { loadOverview } from '../src/ui/data/overview';
import { createUiApp } from '../src/ui/server';
import { ensureDatabase, sql, withClient } from './lib/db';
import { migrate } from '../src/db/migrate';

const N = Number(process.env.UI_BENCH_INTEGRATIONS ?? 1000);
const RUNS = 20;
const RENDERS = 15;

async function seed(url: string): Promise<void> {
  await withClient(url, (c) => migrate(c as never));
  await sql(url, `DELETE FROM tidemark.runs WHERE integration LIKE 'bench-%'; DELETE FROM tidemark.checkpoints WHERE integration LIKE 'bench-%'; DELETE FROM tidemark.dead_letters WHERE integration LIKE 'bench-%'`);
  await sql(
    url,
    `INSERT INTO tidemark.runs (run_id, integration, kind, status, started_at, finished_at, rows_committed, error)
     SELECT 'tidemark-bench-' || i || '-scheduled-' || r || '/x', 'bench-' || i, 'sync',
            CASE WHEN i % 10 = 0 AND r > 17 THEN 'failed' ELSE 'completed' END,
            now() - (r * interval '5 minutes'), now() - (r * interval '5 minutes') + interval '7 seconds', (i * r) % 5000,
            CASE WHEN i % 10 = 0 AND r > 17 THEN 'source timed out' END
       FROM generate_series(1, $1::int) i, generate_series(1, $2::int) r`,
    [N, RUNS],
  );
  await sql(
    url,
    `INSERT INTO tidemark.checkpoints (integration, slot, cursor, status, rows_done)
     SELECT 'bench-' || i, 'sync', jsonb_build_array(to_char(now() - (i % 90) * interval '1 minute', 'YYYY-MM-DD HH24:MI:SS') || '+00', i::text), 'done', i
       FROM generate_series(1, $1::int) i`,
    [N],
  );
  await sql(
    url,
    `INSERT INTO tidemark.dead_letters (integration, record, reason) SELECT 'bench-' || (i % $1::int + 1), '{"id": 1}', 'bad' FROM generate_series(1, 2000) i`,
    [N],
  );
  await sql(url, 'ANALYZE tidemark.runs; ANALYZE tidemark.checkpoints; ANALYZE tidemark.dead_letters');
}

async function main(): Promise<void> {
  let pgServer: RunningPostgres | undefined;
  const base = process.env.DATABASE_URL ?? (pgServer = await startEmbeddedPostgres()).url;
  try {
    const url = await ensureDatabase(base, 'tidemark_ui_bench');
    await seed(url);
    const config = parseConfig({
      integrations: Array.from({ length: N }, (_, k) => ({
        id: `bench-${k + 1}`,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${BENCH_URL}', table: `copy.t${k + 1}`, key: ['id'] },
        schedule: { every: '5m' },
      })),
    });
    const ui = createUiApp({ config, env: { BENCH_URL: url, SRC_URL: url } });
    try {
      for (const [label, path] of [[`all ${N} rows on one page`, `/?size=${N}`], ['default page (50 rows)', '/']] as const) {
        for (let i = 0; i < 3; i++) await ui.app.request(path, { headers: { host: 'localhost' } }); // connect, migrate, warm up
        const times: number[] = [];
        let bytes = 0;
        const before = ui.dbs.queries;
        for (let i = 0; i < RENDERS; i++) {
          const t0 = performance.now();
          const res = await ui.app.request(path, { headers: { host: 'localhost' } });
          bytes = (await res.text()).length;
          times.push(performance.now() - t0);
          if (res.status !== 200) throw new Error(`render failed: HTTP ${res.status}`);
        }
        times.sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)] as number;
        const queries = (ui.dbs.queries - before) / RENDERS;
        console.log(`overview, ${N} integrations, ${label}: median ${median.toFixed(1)} ms server time (min ${times[0]?.toFixed(1)}, max ${times.at(-1)?.toFixed(1)}; ${RENDERS} renders, ${queries} queries each, ${(bytes / 1024).toFixed(0)} KiB)`);
      }
      // Of which: the data (three statements and assembling the rows), without the HTML.
      const data: number[] = [];
      for (let i = 0; i < RENDERS; i++) {
        const t0 = performance.now();
        await loadOverview(config, ui.dbs, undefined);
        data.push(performance.now() - t0);
      }
      data.sort((a, b) => a - b);
      console.log(`  of which the data (3 statements, ${N} rows assembled): median ${data[Math.floor(data.length / 2)]?.toFixed(1)} ms`);
    } finally {
      await ui.close();
    }
  } finally {
    await pgServer?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
