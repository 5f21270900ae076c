/**
 * One writer against four into a table with a one-column primary key (issue 16: why 4 shards cost more CPU than one
 * run): 1M rows of ascending ids in transactions of 5,000 (COPY, synchronous_commit off, as tidemark's pages), from
 * one connection; from four at once, each writing a quarter of the id range in ascending order (as shards of a
 * table whose cursor follows its key do); and from one connection writing the quarters last first (each quarter
 * in ascending order just below the one before: the shards' mid-index inserts without their concurrency). Three
 * of four shards insert in the middle of the index, where PostgreSQL splits leaf pages in half rather than packing
 * them as it does at the right edge: prints the seconds, the heap and primary key sizes, the WAL written and the
 * CPU per process kind per run, on a durable embedded cluster. The rows are made in this process (so one writer
 * also waits for their making: compare the sizes, the WAL and the CPU postgres spent, not the times).
 *
 *   npx tsx bench/btree-shards.ts        (ROWS=1000000 by default)
 */
import pg from 'pg';
import { copyIn } from '../src/pg/copy-in';
import { cpuByProcess, cpuSpent } from './lib/proc';
import { startBenchStack } from './lib/stack';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const PAGE = 5000;

function pageData(from: number, n: number): Buffer {
  const lines: string[] = [];
  for (let i = from; i < from + n; i++) lines.push(`${i}\t2024-01-01 00:00:00+00\tcustomer-${i % 1000}\tpaid\t${(i % 10000) / 100}\tnote ${i}`);
  return Buffer.from(`${lines.join('\n')}\n`);
}

async function writer(url: string, from: number, to: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('SET synchronous_commit = off');
    for (let i = from; i < to; i += PAGE) await copyIn(c, 'BEGIN; COPY t (id, updated_at, customer, status, total, note) FROM STDIN; COMMIT', pageData(i, Math.min(PAGE, to - i)));
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const stack = await startBenchStack({ temporal: false, log: () => undefined, durability: 'durable' });
  const admin = new pg.Client({ connectionString: stack.dstUrl });
  await admin.connect();
  try {
    for (let rep = 1; rep <= 3; rep++) {
      for (const way of ['1 writer', '4 writers', '1 writer, quarters last first'] as const) {
        await admin.query(
          'DROP TABLE IF EXISTS t; CREATE TABLE t (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, customer text NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL, note text); CHECKPOINT',
        );
        const lsn = (await admin.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]?.l;
        const t0 = performance.now();
        const cpu0 = cpuByProcess();
        const per = ROWS / 4;
        if (way === '1 writer') await writer(stack.dstUrl, 1, 1 + ROWS);
        else if (way === '4 writers') await Promise.all([0, 1, 2, 3].map((s) => writer(stack.dstUrl, 1 + s * per, 1 + (s + 1) * per)));
        // Each quarter goes in just below the one written before it: mid-index inserts without concurrency.
        else for (const s of [3, 2, 1, 0]) await writer(stack.dstUrl, 1 + s * per, 1 + (s + 1) * per);
        const secs = (performance.now() - t0) / 1000;
        const cpu = cpuSpent(cpu0, cpuByProcess());
        const r = (
          await admin.query<{ heap: string; idx: string; wal: string }>(
            `SELECT pg_relation_size('t')::text AS heap, pg_relation_size('t_pkey')::text AS idx, pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS wal`,
            [lsn],
          )
        ).rows[0];
        const mb = (v: string | undefined) => `${(Number(v) / 2 ** 20).toFixed(0)} MB`;
        process.stdout.write(`run ${rep}, ${way}: ${secs.toFixed(2)} s; heap ${mb(r?.heap)}, primary key ${mb(r?.idx)}, WAL ${mb(r?.wal)}; CPU: ${cpu}\n`);
      }
    }
  } finally {
    await admin.end();
    await stack.stop();
  }
}

void main();
