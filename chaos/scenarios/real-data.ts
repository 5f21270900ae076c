import { compareTables } from '../lib/compare';
import type { ChaosContext } from '../lib/context';
import { recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import type { ScenarioResult } from '../lib/report';
import { scalar, sql } from '../lib/sql';

/**
 * real-data: a table shaped like a real application's (json, jsonb, xml, geometric types, ranges,
 * arrays, an enum, tsvector), synced incrementally while the target refuses some rows (a CHECK
 * constraint the source doesn't have), rows are deleted and soft-deleted, and a column is added.
 * Expected: the sync completes, the refused rows wait in dead letters and arrive after the target is
 * fixed and `dead-letters --retry`; only changed rows are rewritten; the new column is followed;
 * `verify --repair --delete` removes exactly the deleted rows; a source that suddenly returns too
 * little (40% of its rows gone) is refused by the delete guard, the target untouched.
 */
export function realData(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario(ctx, 'real-data', (h) => body(h));
}

const ENUM = `CREATE TYPE mood AS ENUM ('calm', 'busy', 'late')`;

async function body(h: Harness): Promise<void> {
  const { ctx, f } = h;
  const rows = ctx.quick ? 5_000 : 200_000;
  await sql(h.dst.url, ENUM);
  await sql(h.src.url, ENUM);
  await sql(
    h.src.url,
    `CREATE TABLE things (
       id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, doc json, meta jsonb, pos point, area box, tags text[],
       period tstzrange, note xml, qty int NOT NULL, feel mood, search tsvector, deleted_at timestamptz);
     CREATE INDEX ON things (updated_at, id);
     INSERT INTO things SELECT g, '2026-01-01'::timestamptz + g * interval '1 second',
       json_build_object('n', g, 'b', g % 2 = 0), jsonb_build_object('k', g), point(g, -g), box(point(0, 0), point(g, g)),
       ARRAY['a' || g, NULL, 'c'], tstzrange('2026-01-01', '2026-01-01'::timestamptz + g * interval '1 hour'),
       ('<n>' || g || '</n>')::xml, g % 100, (ARRAY['calm','busy','late']::mood[])[1 + g % 3],
       to_tsvector('simple', 'row number ' || g), NULL
     FROM generate_series(1, ${rows}) g`,
  );
  h.ws.writeConfig({
    integrations: [
      {
        id: 'things',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.things', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.things', key: ['id'], create: true },
        batchSize: ctx.quick ? 500 : 5_000,
      },
    ],
  });
  await h.ws.startWorker();
  const backfill = await h.ws.cli('backfill', 'things', '--wait');
  if (!f.check(backfill.code === 0, `backfill: exit ${backfill.code}: ${backfill.stderr.trim()}`)) return;
  recordComparison(f, 'after the backfill', await compareTables({ url: h.src.url, table: 'public.things' }, { url: h.dst.url, table: 'copy.things' }));

  // The target refuses negative quantities; the source writes some.
  await sql(h.dst.url, 'ALTER TABLE copy.things ADD CONSTRAINT qty_not_negative CHECK (qty >= 0)');
  const step = Math.floor(rows / 50);
  const changed = Array.from({ length: 50 }, (_, i) => 1 + i * step);
  const bad = changed.slice(0, 5);
  const deleted = Array.from({ length: 30 }, (_, i) => 3 + i * step);
  const soft = changed.slice(40);
  const later = `'2026-06-01'::timestamptz + id * interval '1 millisecond'`;
  await sql(h.src.url, `UPDATE things SET doc = json_build_object('n', id, 'changed', true), pos = point(id, id), updated_at = ${later} WHERE id = ANY($1::bigint[])`, [changed]);
  await sql(h.src.url, `UPDATE things SET qty = -1 WHERE id = ANY($1::bigint[])`, [bad]);
  await sql(h.src.url, `UPDATE things SET deleted_at = now() WHERE id = ANY($1::bigint[])`, [soft]);
  await sql(h.src.url, `DELETE FROM things WHERE id = ANY($1::bigint[])`, [deleted]);
  // Schema drift: a new column, filled on some changed rows (ADD COLUMN appends on both sides).
  await sql(h.src.url, 'ALTER TABLE things ADD COLUMN region text');
  await sql(h.src.url, `UPDATE things SET region = 'eu-' || id WHERE id = ANY($1::bigint[])`, [changed.slice(10, 20)]);

  const sync = await h.ws.cli('sync', 'things', '--wait');
  f.check(sync.code === 0, `sync with refused rows: exit ${sync.code}: ${sync.stderr.trim()}`);
  const pending = await scalar(h.dst.url, `SELECT count(*) AS n FROM tidemark.dead_letters WHERE integration = 'things' AND retried_at IS NULL`);
  f.check(pending === bad.length, `dead letters after the sync: ${pending}, expected the ${bad.length} refused rows`);
  const written = await scalar(h.dst.url, `SELECT rows_written AS n FROM tidemark.runs WHERE integration = 'things' AND kind = 'sync' ORDER BY started_at DESC LIMIT 1`);
  f.check(written === changed.length - bad.length, `sync rewrote ${written} rows; ${changed.length - bad.length} had changed and were accepted`);
  f.detail(`sync: ${changed.length} changed rows (json, point, soft deletes, a new column), ${bad.length} refused by a CHECK constraint → dead letters, ${written} written`);

  await sql(h.dst.url, 'ALTER TABLE copy.things DROP CONSTRAINT qty_not_negative');
  const retry = await h.ws.cli('dead-letters', 'things', '--retry');
  f.check(retry.code === 0, `dead-letters --retry after fixing the target: exit ${retry.code}: ${retry.stdout.trim()} ${retry.stderr.trim()}`);

  const dry = await h.ws.cli('verify', 'things', '--repair', '--delete', '--dry-run');
  const stillThere = await scalar(h.dst.url, `SELECT count(*) AS n FROM copy.things WHERE id = ANY($1::bigint[])`, [deleted]);
  f.check(stillThere === deleted.length, `verify --delete --dry-run deleted rows (${deleted.length - stillThere}); exit ${dry.code}`);
  const del = await h.ws.cli('verify', 'things', '--repair', '--delete');
  f.check(del.code === 0, `verify --repair --delete: exit ${del.code}: ${del.stdout.trim()} ${del.stderr.trim()}`);
  recordComparison(f, 'after retry and verify --repair --delete', await compareTables({ url: h.src.url, table: 'public.things' }, { url: h.dst.url, table: 'copy.things' }));

  // A source that suddenly returns far too little must never empty the target.
  const before = await scalar(h.dst.url, 'SELECT count(*) AS n FROM copy.things');
  await sql(h.src.url, `DELETE FROM things WHERE id % 5 IN (1, 2)`);
  const guard = await h.ws.cli('verify', 'things', '--repair', '--delete');
  const after = await scalar(h.dst.url, 'SELECT count(*) AS n FROM copy.things');
  f.check(guard.code !== 0 && /--force/.test(guard.stdout + guard.stderr), `deleting 40% of the target without --force: exit ${guard.code}, expected a refusal naming --force`);
  f.check(after === before, `the delete guard let ${before - after} rows go`);
  f.detail(`deletes: ${deleted.length} removed by verify --repair --delete (dry run first: none); 40% gone at once refused (${before} target rows kept)`);
  await recordRuns(h, 'things');
}
