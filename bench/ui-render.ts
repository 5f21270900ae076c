/**
 * Server time of `tidemark ui`'s overview with 1,000 integrations and 1,000 instances of a template
 * (`npx tsx bench/ui-render.ts`; UI_BENCH_INTEGRATIONS, UI_BENCH_INSTANCES change the numbers).
 * State in PostgreSQL: DATABASE_URL's server (a database tidemark_ui_bench) or an embedded one.
 * 20 runs per integration and instance, checkpoints, some failing, some dead letters, some instances
 * paused or needing re-authorization. Renders in process (no network, no Temporal: its two listings are
 * not part of this figure), prints the median of several and the state-database queries per view.
 */
import { parseConfig } from '../src/config';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/dev';
import { loadOverview } from '../src/ui/data/overview';
import { createUiApp } from '../src/ui/server';
import { ensureDatabase, sql, withClient } from './lib/db';
import { migrate } from '../src/db/migrate';

const N = Number(process.env.UI_BENCH_INTEGRATIONS ?? 1000);
const M = Number(process.env.UI_BENCH_INSTANCES ?? 1000);
const RUNS = 20;
const RENDERS = 15;

/** Every integration id and instance id of the bench, one row per id (`bench-<i>`, `benchtpl/c<i>`). */
const IDS = `SELECT 'bench-' || i AS id, i FROM generate_series(1, $1::int) i UNION ALL SELECT 'benchtpl/c' || i, i FROM generate_series(1, $2::int) i`;

async function seed(url: string): Promise<void> {
  await withClient(url, (c) => migrate(c as never));
  for (const table of ['runs', 'checkpoints', 'dead_letters']) await sql(url, `DELETE FROM tidemark.${table} WHERE integration LIKE 'bench-%' OR integration LIKE 'benchtpl/%'`);
  await sql(url, `DELETE FROM tidemark.instances WHERE template = 'benchtpl'`);
  await sql(
    url,
    `INSERT INTO tidemark.instances (template, instance_id, params, secrets, status, reason)
     SELECT 'benchtpl', 'c' || i, jsonb_build_object('region', 'eu'), '{"db":{"env":"SRC_URL"}}',
            CASE WHEN i % 50 = 0 THEN 'needs_reauth' WHEN i % 70 = 0 THEN 'paused' ELSE 'active' END,
            CASE WHEN i % 50 = 0 THEN 'credentials refused: HTTP 401' WHEN i % 70 = 0 THEN 'customer asked' END
       FROM generate_series(1, $1::int) i`,
    [M],
  );
  await sql(
    url,
    `INSERT INTO tidemark.runs (run_id, integration, kind, status, started_at, finished_at, rows_committed, error)
     SELECT 'tidemark-' || replace(ids.id, '/', '.') || '-scheduled-' || r || '/x', ids.id, 'sync',
            CASE WHEN ids.i % 10 = 0 AND r > 17 THEN 'failed' ELSE 'completed' END,
            now() - (r * interval '5 minutes'), now() - (r * interval '5 minutes') + interval '7 seconds', (ids.i * r) % 5000,
            CASE WHEN ids.i % 10 = 0 AND r > 17 THEN 'source timed out' END
       FROM (${IDS}) ids, generate_series(1, $3::int) r`,
    [N, M, RUNS],
  );
  await sql(
    url,
    `INSERT INTO tidemark.checkpoints (integration, slot, cursor, status, rows_done)
     SELECT ids.id, 'sync', jsonb_build_array(to_char(now() - (ids.i % 90) * interval '1 minute', 'YYYY-MM-DD HH24:MI:SS') || '+00', ids.i::text), 'done', ids.i
       FROM (${IDS}) ids`,
    [N, M],
  );
  await sql(
    url,
    `INSERT INTO tidemark.dead_letters (integration, record, reason)
     SELECT CASE WHEN i % 2 = 0 THEN 'bench-' || (i % $1::int + 1) ELSE 'benchtpl/c' || (i % $2::int + 1) END, '{"id": 1}', 'bad' FROM generate_series(1, 2000) i`,
    [Math.max(1, N), Math.max(1, M)],
  );
  await sql(url, 'ANALYZE tidemark.runs; ANALYZE tidemark.checkpoints; ANALYZE tidemark.dead_letters; ANALYZE tidemark.instances');
}

async function main(): Promise<void> {
  let pgServer: RunningPostgres | undefined;
  const base = process.env.DATABASE_URL ?? (pgServer = await startEmbeddedPostgres()).url;
  try {
    const url = await ensureDatabase(base, 'tidemark_ui_bench');
    await seed(url);
    const config = parseConfig({
      integrations: [
        ...Array.from({ length: N }, (_, k) => ({
          id: `bench-${k + 1}`,
          source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
          sink: { kind: 'postgres', url: '${BENCH_URL}', table: `copy.t${k + 1}`, key: ['id'] },
          schedule: { every: '5m' },
        })),
        {
          id: 'benchtpl',
          template: true,
          source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders_${instance.region}', cursor: ['updated_at', 'id'] },
          sink: { kind: 'postgres', url: '${BENCH_URL}', table: 'shared.orders', key: ['id'], instanceColumn: 'tenant' },
          schedule: { every: '5m' },
        },
      ],
    });
    const ui = createUiApp({ config, env: { BENCH_URL: url, SRC_URL: url } });
    const total = N + M;
    try {
      const views = [
        [`${Math.min(1000, total)} of the ${total} rows on one page (the most a page holds)`, `/?size=1000`],
        ['default page (50 rows)', '/'],
        [`the template's ${M} instances, failing first`, '/?template=benchtpl&sort=state'],
        ['one instance', '/i/benchtpl%2Fc10'],
        ['one integration', '/i/bench-10'],
      ] as const;
      for (const [label, path] of views.filter(([, p]) => (N >= 10 || !p.includes('bench-')) && (M >= 10 || !p.includes('benchtpl')))) {
        for (let i = 0; i < 3; i++) await ui.app.request(path, { headers: { host: 'localhost' } }); // connect, migrate, warm up
        const times: number[] = [];
        let bytes = 0;
        const before = ui.dbs.queries;
        for (let i = 0; i < RENDERS; i++) {
          const t0 = performance.now();
          const res = await ui.app.request(path, { headers: { host: 'localhost' } });
          bytes = (await res.text()).length;
          times.push(performance.now() - t0);
          if (res.status !== 200) throw new Error(`render of ${path} failed: HTTP ${res.status}`);
        }
        times.sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)] as number;
        const queries = (ui.dbs.queries - before) / RENDERS;
        console.log(`${N} integrations + ${M} instances, ${label}: median ${median.toFixed(1)} ms server time (min ${times[0]?.toFixed(1)}, max ${times.at(-1)?.toFixed(1)}; ${RENDERS} renders, ${queries} state-database queries each, ${(bytes / 1024).toFixed(0)} KiB)`);
      }
      // Of which: the data (the instance listing, three statements and assembling the rows), without the HTML.
      const data: number[] = [];
      for (let i = 0; i < RENDERS; i++) {
        const t0 = performance.now();
        await loadOverview(config, ui.dbs, undefined);
        data.push(performance.now() - t0);
      }
      data.sort((a, b) => a - b);
      console.log(`  of which the overview's data (4 statements, ${total} rows assembled): median ${data[Math.floor(data.length / 2)]?.toFixed(1)} ms`);
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
