import type { VerifyReport } from '../../src/verify';
import { compareTables } from '../lib/compare';
import { ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { sql } from '../lib/sql';
import { randomInt } from '../lib/wait';

/**
 * verify: after a backfill, target rows are deleted (two runs of keys) and corrupted (scattered rows).
 * `tidemark verify` must find exactly the key ranges holding damage (exit 1), and `--repair` must
 * rewrite exactly the damaged rows (xmin of every other row unchanged) and end consistent (exit 0).
 */
export function verifyRepair(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario(ctx, 'verify', (h) => body(h));
}

const inRange = (id: number, d: VerifyReport['differing'][number]) => (!d.lo || id >= Number(d.lo[0])) && (!d.hi || id < Number(d.hi[0]));

async function body(h: Harness): Promise<void> {
  const { ctx, f } = h;
  const rows = ctx.quick ? 10_000 : 100_000;
  await seedOrders(h.src.url, rows);
  h.ws.writeConfig({ integrations: [ordersIntegration('orders', { batchSize: 5_000 })] });
  await h.ws.startWorker();
  f.check((await h.ws.cli('backfill', 'orders', '--wait')).code === 0, 'the backfill failed');

  const deleted = [randomInt(100, rows / 2 - 100), randomInt(rows / 2, rows - 100)].flatMap((start) => Array.from({ length: randomInt(5, 60) }, (_, i) => start + i));
  const corrupted = Array.from({ length: 7 }, () => randomInt(1, rows)).filter((id) => !deleted.includes(id));
  const damaged = [...new Set([...deleted, ...corrupted])].sort((a, b) => a - b);
  await sql(h.dst.url, `DELETE FROM copy.orders WHERE id = ANY($1::bigint[])`, [deleted]);
  await sql(h.dst.url, `UPDATE copy.orders SET status = 'corrupt' WHERE id = ANY($1::bigint[])`, [corrupted]);
  const before = new Map((await sql<{ id: string; x: string }>(h.dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders')).map((r) => [r.id, r.x]));

  const found = await h.ws.cli('verify', 'orders', '--json');
  f.check(found.code === 1, `verify on a damaged target: exit ${found.code}, expected 1`);
  const report = JSON.parse(found.stdout || '{}') as VerifyReport;
  const differing = report.differing ?? [];
  f.check(damaged.every((id) => differing.some((d) => inRange(id, d))), 'a damaged key lies outside every range verify reported');
  f.check(differing.every((d) => damaged.some((id) => inRange(id, d))), 'verify reported a range with no damage in it');

  const repaired = await h.ws.cli('verify', 'orders', '--repair', '--json');
  f.check(repaired.code === 0, `verify --repair: exit ${repaired.code}: ${repaired.stderr.trim()}`);
  const after = JSON.parse(repaired.stdout || '{}') as VerifyReport;
  const written = (after.differing ?? []).reduce((s, d) => s + (d.repaired ?? 0), 0);
  f.check(after.consistent === true && written === damaged.length, `verify --repair: consistent ${after.consistent}, ${written} rows written, ${damaged.length} damaged`);
  const rewritten = (await sql<{ id: string; x: string }>(h.dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders')).filter((r) => before.get(r.id) !== r.x).map((r) => Number(r.id));
  f.check(rewritten.sort((a, b) => a - b).join() === damaged.join(), `rewritten rows ${rewritten.length} are not exactly the ${damaged.length} damaged ones`);
  f.detail(`${deleted.length} rows deleted, ${corrupted.length} corrupted: verify found ${differing.length} of ${report.ranges} ranges, --repair rewrote exactly those ${damaged.length} rows`);
  recordComparison(f, 'after verify --repair', await compareTables({ url: h.src.url, table: 'public.orders' }, { url: h.dst.url, table: 'copy.orders' }));
  await recordRuns(h, 'orders', rows);
}
