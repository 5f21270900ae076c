/**
 * The HTTP sink's bench (issue #15 item 4): `npx tsx bench/paths/http-sink.ts [--records N] [--latency MS]`.
 * Deliveries per second against a local fake API that answers after `latency` ms (default 20), at
 * concurrency 1, 8 and 32 (the goal: ≥ 25× from 1 to 32), and the delivery ledger's cost per record
 * (a page of unchanged records: decode, hash, one ledger read; and the ledger write alone).
 * PostgreSQL: DATABASE_URL, or an embedded cluster (bench/lib/stack). Not registered in bench/run.ts:
 * it measures requests, not rows copied between tables.
 */
import pg from 'pg';
import { httpSinkSchema } from '../../src/config/http-sink-schema';
import { migrate } from '../../src/db/migrate';
import { saveDeliveries } from '../../src/db/state';
import { HttpSink } from '../../src/sinks/http';
import type { ColumnSpec } from '../../src/sources/source';
import { startDeliveryFake } from '../../test/sinks/fakes/delivery-fake';
import { startBenchStack } from '../lib/stack';

const COLUMNS: ColumnSpec[] = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'email', type: 'text', notNull: false },
  { name: 'total', type: 'numeric(12,2)', notNull: false },
  { name: 'meta', type: 'jsonb', notNull: false },
];
const PAGE = 500;

const rowsOf = (from: number, n: number, version: number) =>
  Array.from({ length: n }, (_, i) => [String(from + i), `user${from + i}@example.test`, ((from + i) * 1.25).toFixed(2), JSON.stringify({ v: version })]);

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function writeAll(db: pg.Client, sink: HttpSink, integration: string, total: number, version: number): Promise<number> {
  const t0 = performance.now();
  for (let from = 1; from <= total; from += PAGE) {
    await db.query('BEGIN');
    await sink.write(db, { rows: rowsOf(from, Math.min(PAGE, total - from + 1), version), cursor: from }, { integration, runId: 'bench' });
    await db.query('COMMIT');
  }
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const latency = arg('latency', 20);
  const base = arg('records', 4000);
  const stack = await startBenchStack({ temporal: false, log: (s) => console.error(s) });
  const db = new pg.Client({ connectionString: stack.dstUrl });
  await db.connect();
  await migrate(db);
  const lines = ['| concurrency | records | seconds | deliveries/s | × concurrency 1 |', '|---:|---:|---:|---:|---:|'];
  let single = 0;
  try {
    for (const concurrency of [1, 8, 32]) {
      const records = concurrency === 1 ? Math.min(base, 250) : base; // 1 in flight at 20 ms: 50/s at best
      const api = await startDeliveryFake({ latencyMs: latency });
      const integration = `bench-c${concurrency}-${Date.now()}`;
      const cfg = httpSinkSchema.parse({ kind: 'http', url: `${api.url}/items`, key: ['id'], concurrency });
      const sink = new HttpSink(cfg, { integration, env: {} });
      await sink.prepare(COLUMNS);
      const secs = await writeAll(db, sink, integration, records, 1);
      const rate = records / secs;
      if (concurrency === 1) single = rate;
      lines.push(`| ${concurrency} | ${records} | ${secs.toFixed(2)} | ${rate.toFixed(0)} | ${(rate / single).toFixed(1)} |`);
      if (concurrency === 32) {
        // The same records again, unchanged: no request, only decode + hash + one ledger read per page.
        const again = await writeAll(db, sink, integration, records, 1);
        lines.push('', `ledger, unchanged records (decode, hash, read): ${((again * 1e6) / records).toFixed(1)} µs/record (${api.log.length - records} requests sent)`);
      }
      await sink.close();
      await api.close();
    }
    const n = 20_000;
    const rows = Array.from({ length: n }, (_, i) => ({ recordKey: `[${i}]`, contentHash: 'f'.repeat(64) }));
    await db.query('BEGIN');
    const t0 = performance.now();
    for (let i = 0; i < n; i += PAGE) await saveDeliveries(db, 'bench-ledger', rows.slice(i, i + PAGE));
    await db.query('COMMIT');
    lines.push(`ledger write (upsert of ${PAGE}-record pages): ${(((performance.now() - t0) * 1000) / n).toFixed(1)} µs/record`);
    console.log(`HTTP sink, fake API latency ${latency} ms, pages of ${PAGE}\n\n${lines.join('\n')}`);
  } finally {
    await db.end();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
