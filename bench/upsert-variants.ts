/**
 * The upsert statements tried for issue #16, side by side on a durable embedded cluster (fsync, synchronous_commit,
 * full_page_writes on), without Node in the way: per page of 5,000 rows (cursor order), the stage is filled by
 * INSERT … SELECT, then the variant runs and commits. Prints SQL time, commit time and WAL bytes per variant.
 *
 *   npx tsx bench/upsert-variants.ts [rows=300000] [variants=all|onconflict,saopskip,…] [prefills=changed,same]
 *
 * onconflict: tidemark's plain upsert; skipnotexists: the per-row NOT EXISTS filter before it (the re-sync path
 * until #16's second round); saopskip: the filter as one index scan over the page's keys, hash-joined (now
 * tidemark's); updfrom / merge / cteupd: UPDATE … FROM, MERGE, UPDATE in a CTE (planner's join: hash join over a
 * scan of the target); saopupd: UPDATE over the key scan + INSERT of the rest; delins: DELETE changed + INSERT;
 * updnl: UPDATE … FROM by nested loop + INSERT of the rest.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/dev';

const N = Number(process.argv[2] ?? 300000);
const PAGE = 5000;
const which = (process.argv[3] ?? 'all').split(',');
const cols = 'id, updated_at, customer, status, total, note';
const rest = ['updated_at', 'customer', 'status', 'total', 'note'];
const row = (s: string) => `(${rest.map((c) => `${s}.${c}`).join(', ')})`;
const set = rest.map((c) => `${c} = s.${c}`).join(', ');
const setEx = rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ');

const ids = `ARRAY(SELECT id FROM stage)`;
const V: Record<string, string[]> = {
  onconflict: [`INSERT INTO t AS t (${cols}) SELECT ${cols} FROM stage ON CONFLICT (id) DO UPDATE SET ${setEx} WHERE ${row('t')} IS DISTINCT FROM ${row('EXCLUDED')}`],
  skipnotexists: [`INSERT INTO t AS t (${cols}) SELECT ${cols} FROM stage s WHERE NOT EXISTS (SELECT 1 FROM t d WHERE d.id = s.id AND ${row('d')} IS NOT DISTINCT FROM ${row('s')} OFFSET 0) ON CONFLICT (id) DO UPDATE SET ${setEx} WHERE ${row('t')} IS DISTINCT FROM ${row('EXCLUDED')}`],
  saopskip: [`SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off; INSERT INTO t AS t (${cols}) SELECT s.id, s.updated_at, s.customer, s.status, s.total, s.note FROM stage s LEFT JOIN (SELECT ${cols} FROM t WHERE id = ANY(${ids})) d ON d.id = s.id WHERE d.id IS NULL OR ${row('d')} IS DISTINCT FROM ${row('s')} ON CONFLICT (id) DO UPDATE SET ${setEx} WHERE ${row('t')} IS DISTINCT FROM ${row('EXCLUDED')}`],
  saopupd: [
    `SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off; UPDATE t SET ${set} FROM stage s WHERE t.id = s.id AND t.id = ANY(${ids}) AND ${row('t')} IS DISTINCT FROM ${row('s')}; INSERT INTO t AS t (${cols}) SELECT s.id, s.updated_at, s.customer, s.status, s.total, s.note FROM stage s WHERE s.id NOT IN (SELECT id FROM t WHERE id = ANY(${ids})) ON CONFLICT (id) DO UPDATE SET ${setEx} WHERE ${row('t')} IS DISTINCT FROM ${row('EXCLUDED')}`,
  ],
  delins: [
    `SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off; DELETE FROM t USING stage s WHERE t.id = s.id AND t.id = ANY(${ids}) AND ${row('t')} IS DISTINCT FROM ${row('s')}; INSERT INTO t AS t (${cols}) SELECT s.id, s.updated_at, s.customer, s.status, s.total, s.note FROM stage s WHERE s.id NOT IN (SELECT id FROM t WHERE id = ANY(${ids})) ON CONFLICT (id) DO UPDATE SET ${setEx} WHERE ${row('t')} IS DISTINCT FROM ${row('EXCLUDED')}`,
  ],
  updnl: [
    `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; UPDATE t SET ${set} FROM stage s WHERE t.id = s.id AND ${row('t')} IS DISTINCT FROM ${row('s')}; INSERT INTO t AS t (${cols}) SELECT s.id, s.updated_at, s.customer, s.status, s.total, s.note FROM stage s WHERE NOT EXISTS (SELECT 1 FROM t d WHERE d.id = s.id OFFSET 0) ON CONFLICT (id) DO UPDATE SET ${setEx} WHERE ${row('t')} IS DISTINCT FROM ${row('EXCLUDED')}`,
  ],
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'd-exp-pg-'));
  chmodSync(dir, 0o755);
  const db = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), persistent: true });
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const s = await c.query(`SELECT string_agg(name||'='||setting, ', ') s FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes')`);
    console.log(s.rows[0].s);
    await c.query(`CREATE TABLE src (id bigint NOT NULL, updated_at timestamptz NOT NULL, customer text NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL, note text)`);
    await c.query(`INSERT INTO src SELECT g, timestamptz '2024-01-01 00:00:00+00' + g * interval '10 milliseconds' + ((g * 7919) % 100000) * interval '1 microsecond',
                'customer-' || lpad((g % 100003)::text, 6, '0'), (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4], ((g * 37) % 100000) / 100.0,
                CASE WHEN g % 97 = 0 THEN NULL WHEN g % 101 = 0 THEN E'gift\\twrap\\nplease' ELSE md5(g::text) END FROM generate_series(1, $1::bigint) g`, [N]);
    await c.query(`ALTER TABLE src ADD PRIMARY KEY (id)`);
    await c.query(`CREATE INDEX ON src (updated_at, id)`);
    await c.query(`VACUUM ANALYZE src`);
    await c.query(`CREATE TEMP TABLE stage ON COMMIT DELETE ROWS AS SELECT * FROM src WITH NO DATA`);
    const bounds = await c.query(`SELECT updated_at, id FROM (SELECT updated_at, id, row_number() OVER (ORDER BY updated_at, id) r FROM src) x WHERE r % ${PAGE} = 0 ORDER BY r`);
    for (const prefill of (process.argv[4] ?? 'changed,same').split(',')) {
      for (const v of Object.keys(V).filter((k) => which.includes('all') || which.includes(k))) {
        for (let rep = 0; rep < 2; rep++) {
          await c.query('DROP TABLE IF EXISTS t');
          await c.query(`CREATE TABLE t (id bigint NOT NULL, updated_at timestamptz NOT NULL, customer text NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL, note text, PRIMARY KEY (id))`);
          await c.query(prefill === 'changed' ? `INSERT INTO t SELECT id, updated_at - interval '1 day', customer, 'old-' || status, total + 1, note FROM src ORDER BY id` : `INSERT INTO t SELECT * FROM src ORDER BY id`);
          await c.query('VACUUM ANALYZE t');
          await c.query('CHECKPOINT');
          const lsn0 = (await c.query('SELECT pg_current_wal_lsn() l')).rows[0].l;
          let tFill = 0, tSql = 0, tCommit = 0, written = 0;
          let prev: any = null;
          for (const b of bounds.rows) {
            const t0 = performance.now();
            await c.query('BEGIN');
            if (prev) await c.query(`INSERT INTO stage SELECT * FROM src WHERE (updated_at, id) > ($1, $2) AND (updated_at, id) <= ($3, $4) ORDER BY updated_at, id`, [prev.updated_at, prev.id, b.updated_at, b.id]);
            else await c.query(`INSERT INTO stage SELECT * FROM src WHERE (updated_at, id) <= ($1, $2) ORDER BY updated_at, id`, [b.updated_at, b.id]);
            const t1 = performance.now();
            for (const q of V[v]!) { const r: any = await c.query(q); for (const x of Array.isArray(r) ? r : [r]) if (x.command === 'INSERT' || x.command === 'UPDATE') written += x.rowCount ?? 0; }
            const t2 = performance.now();
            await c.query('COMMIT');
            const t3 = performance.now();
            tFill += t1 - t0; tSql += t2 - t1; tCommit += t3 - t2;
            prev = b;
          }
          const wal = (await c.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) w`, [lsn0])).rows[0].w;
          console.log(`${prefill.padEnd(8)} ${v.padEnd(14)} rep${rep} sql ${(tSql / 1000).toFixed(2)} s commit ${(tCommit / 1000).toFixed(2)} s (fill ${(tFill / 1000).toFixed(2)}) wal ${(Number(wal) / 1e6).toFixed(0)} MB written ${written}`);
        }
      }
    }
  } finally {
    await c.end();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
