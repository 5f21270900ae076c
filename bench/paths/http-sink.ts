/**
 * The HTTP sink's bench (issue #15 item 4): `npm run bench -- --http-sink [--runs K] [--rows N]`, or
 * `npx tsx bench/paths/http-sink.ts [--records N] [--latency MS] [--runs K]`. Deliveries per second against
 * the delivery fake (in its own process, as a remote API: its CPU does not share the sink's event loop)
 * answering after `latency` ms (default 20), at concurrency 1, 8 and 32 (the goal: ≥ 25× from 1 to 32),
 * interleaved per repetition, medians of K; and the delivery ledger's cost per record (a page of unchanged
 * records: decode, hash, one ledger read; and the ledger upsert alone). Pages of 500 records, each in
 * one transaction on the bench's PostgreSQL (durable by default). Writes bench/results/http-sink.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { httpSinkSchema } from '../../src/config/http-sink-schema';
import { migrate } from '../../src/db/migrate';
import { saveDeliveries } from '../../src/db/state';
import { HttpSink } from '../../src/sinks/http';
import type { ColumnSpec } from '../../src/sources/source';
import { startDeliveryFakeProcess } from '../../test/sinks/fakes/delivery-fake-process';
import { startBenchStack } from '../lib/stack';

const COLUMNS: ColumnSpec[] = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'email', type: 'text', notNull: false },
  { name: 'total', type: 'numeric(12,2)', notNull: false },
  { name: 'meta', type: 'jsonb', notNull: false },
];
const PAGE = 500;
const CONCURRENCY = [1, 8, 32] as const;

export interface HttpSinkBenchOptions {
  runs: number;
  /** records per run at concurrency 8 and 32 (concurrency 1 sends at most 250: one request at a time) */
  records: number;
  latencyMs: number;
  out: string;
  log: (line: string) => void;
}

const rowsOf = (from: number, n: number, version: number) =>
  Array.from({ length: n }, (_, i) => [String(from + i), `user${from + i}@example.test`, ((from + i) * 1.25).toFixed(2), JSON.stringify({ v: version })]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function writeAll(db: pg.Client, sink: HttpSink, integration: string, total: number): Promise<number> {
  const t0 = performance.now();
  for (let from = 1; from <= total; from += PAGE) {
    await db.query('BEGIN');
    await sink.write(db, { rows: rowsOf(from, Math.min(PAGE, total - from + 1), 1), cursor: from }, { integration, runId: 'bench' });
    await db.query('COMMIT');
  }
  return (performance.now() - t0) / 1000;
}

export async function httpSinkBench(o: HttpSinkBenchOptions): Promise<string> {
  const stack = await startBenchStack({ temporal: false, log: o.log });
  const db = new pg.Client({ connectionString: stack.dstUrl });
  await db.connect();
  await migrate(db);
  const api = await startDeliveryFakeProcess({ latencyMs: o.latencyMs });
  const rates = new Map<number, number[]>(CONCURRENCY.map((c) => [c, []]));
  const unchanged: number[] = [];
  const ledgerWrite: number[] = [];
  let seq = 0;
  try {
    for (let rep = 1; rep <= o.runs; rep++) {
      for (const concurrency of CONCURRENCY) {
        const records = concurrency === 1 ? Math.min(o.records, 250) : o.records;
        const integration = `bench-c${concurrency}-${process.pid}-${++seq}`;
        const sink = new HttpSink(httpSinkSchema.parse({ kind: 'http', url: `${api.url}/items`, key: ['id'], concurrency }), { integration, env: {} });
        await sink.prepare(COLUMNS);
        const before = await api.stats();
        const secs = await writeAll(db, sink, integration, records);
        const after = await api.stats();
        if (after.applied - before.applied !== records) throw new Error(`concurrency ${concurrency}: the fake applied ${after.applied - before.applied} of ${records} records`);
        rates.get(concurrency)!.push(records / secs);
        o.log(`run ${rep}/${o.runs} concurrency ${concurrency}: ${records} records in ${secs.toFixed(2)} s = ${(records / secs).toFixed(0)} deliveries/s (most in flight at the fake so far: ${after.maxInFlight})`);
        if (concurrency === 32) {
          // The same records again, unchanged: no request, only decode + hash + one ledger read per page.
          const again = await writeAll(db, sink, integration, records);
          if ((await api.stats()).requests !== after.requests) throw new Error('unchanged records were sent again');
          unchanged.push((again * 1e6) / records);
        }
        await sink.close();
      }
      const n = 20_000;
      const rows = Array.from({ length: n }, (_, i) => ({ recordKey: `[${i}]`, contentHash: 'f'.repeat(64) }));
      const t0 = performance.now();
      for (let i = 0; i < n; i += PAGE) {
        await db.query('BEGIN');
        await saveDeliveries(db, `bench-ledger-${rep}`, rows.slice(i, i + PAGE));
        await db.query('COMMIT');
      }
      ledgerWrite.push(((performance.now() - t0) * 1000) / n);
    }
  } finally {
    await api.stop();
    await db.end();
    await stack.stop();
  }
  const r = Object.fromEntries(CONCURRENCY.map((c) => [c, median(rates.get(c)!)])) as Record<(typeof CONCURRENCY)[number], number>;
  const ceiling = 1000 / o.latencyMs;
  const lines = [
    `HTTP sink deliveries: fake API answering after ${o.latencyMs} ms (own process), pages of ${PAGE} records, one transaction each on a ${stack.durability} PostgreSQL; median of ${o.runs} interleaved runs; node ${process.version}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`,
    '',
    '| concurrency | deliveries/s (median) | runs | × concurrency 1 | of the latency bound (concurrency × 1000/latency) |',
    '|---:|---:|---|---:|---:|',
    ...CONCURRENCY.map((c) => `| ${c} | ${r[c].toFixed(0)} | ${rates.get(c)!.map((x) => x.toFixed(0)).join(', ')} | ${(r[c] / r[1]).toFixed(1)} | ${((100 * r[c]) / (c * ceiling)).toFixed(0)}% |`),
    '',
    `goal ≥ 25× from concurrency 1 to 32: ${(r[32] / r[1]).toFixed(1)}× (${r[32] / r[1] >= 25 ? 'met' : 'missed'})`,
    '',
    'Delivery ledger, cost per record:',
    `- a page of unchanged records (decode, content hash, one ledger read per page; nothing sent): ${median(unchanged).toFixed(1)} µs/record (runs ${unchanged.map((x) => x.toFixed(1)).join(', ')})`,
    `- the ledger write alone (upsert of ${PAGE}-record pages, each committed): ${median(ledgerWrite).toFixed(1)} µs/record (runs ${ledgerWrite.map((x) => x.toFixed(1)).join(', ')})`,
    `- against one delivery at concurrency 32 (${((1e6 / r[32]) | 0)} µs/record of wall time): ${((100 * (median(unchanged) + median(ledgerWrite))) / (1e6 / r[32])).toFixed(1)}% for read + write`,
  ];
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'http-sink.md'), `${lines.join('\n')}\n`);
  return lines.join('\n');
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

if (require.main === module) {
  httpSinkBench({ runs: arg('runs', 3), records: arg('records', 4000), latencyMs: arg('latency', 20), out: resolve(__dirname, '..', 'results'), log: (s) => console.error(s) })
    .then((text) => console.log(text))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
