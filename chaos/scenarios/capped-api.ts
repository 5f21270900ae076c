import { startMockApi, type MockApi } from '../../src/mock-api';
import { compareWithApi } from '../lib/api-dataset';
import { apiIntegration, type ApiStyle } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import type { ScenarioResult } from '../lib/report';

/**
 * capped-api: an API that silently serves at most 400 records per answer whatever `limit` asks, with
 * no has-more flag, total or page count (GitHub, Stripe and Shopify cap their pages without saying so),
 * plus 5% 5xx. tidemark asks for 1000: a short page must never end a read. Each style backfills the
 * whole dataset, then reads a round of changes; the target must equal the API's dataset both times.
 * Then the cap drops below the largest group of records sharing one timestamp (the mock API has ~370):
 * a time window cannot split such a group, so a backfill must fail loudly, naming the cap, not skip it.
 */
export function cappedApi(ctx: ChaosContext): Promise<ScenarioResult> {
  let api: MockApi | undefined;
  return runScenario(ctx, 'capped-api', async (h) => {
    api = await startMockApi({ records: ctx.quick ? 2_000 : 20_000, seed: 17, pageCap: 400, failRate: 0.05 });
    await body(h, api);
  }).finally(() => api?.close());
}

async function body(h: Harness, api: MockApi): Promise<void> {
  const { ctx, f } = h;
  h.ws.env.API_URL = api.url;
  const styles: ApiStyle[] = ctx.quick ? ['cursor', 'time_window'] : ['cursor', 'time_window', 'starting_after'];
  const target = (s: ApiStyle) => `api.capped_${s}`;
  const id = (s: ApiStyle) => `capped-${s.replace(/_/g, '-')}`;
  h.ws.writeConfig({ integrations: styles.map((s) => apiIntegration(id(s), { style: s, target: target(s), pageSize: 1000 })) });
  await h.ws.startWorker();
  for (const style of styles) {
    api.resetStats();
    const backfill = await h.ws.cli('backfill', id(style), '--wait');
    f.check(backfill.code === 0, `${id(style)}: backfill --wait exit ${backfill.code}: ${backfill.stderr.trim()}`);
    recordComparison(f, `${id(style)} backfill through a silent cap of 400`, await compareWithApi(api, h.dst.url, target(style)));
    const s = api.stats();
    h.log(`${id(style)}: ${s.requests} requests, ${s.capped} answers cut to 400 records, ${s.faults.error} 5xx`);
    f.check(s.capped > 0, `${id(style)}: the API never cut an answer: the cap was not exercised`);
    if (style === 'starting_after') continue; // append-only style: updates to passed records are not seen (documented)
    const change = api.mutate(ctx.quick ? 50 : 300);
    const sync = await h.ws.cli('sync', id(style), '--wait');
    f.check(sync.code === 0, `${id(style)}: sync --wait exit ${sync.code}: ${sync.stderr.trim()}`);
    recordComparison(f, `${id(style)} sync after ${change.updated.length} updates + ${change.inserted.length} inserts`, await compareWithApi(api, h.dst.url, target(style)));
    await recordRuns(h, id(style));
  }
  // A cap below the largest tie group: the window cannot be read whole, and tidemark must say so.
  api.setPageCap(100);
  const tw = id('time_window');
  const stuck = await h.ws.cli('backfill', tw, '--wait');
  f.check(stuck.code !== 0 && /at most 100 records per request/.test(stuck.stdout + stuck.stderr), `${tw}: a tie group larger than the cap: backfill exit ${stuck.code}, expected a loud failure naming the cap`);
  f.detail(`${tw}: with a cap of 100 below a group of ~370 equal timestamps the backfill failed loudly ("${(/the API gives at most[^;]*/.exec(stuck.stdout + stuck.stderr) ?? [''])[0]}")`);
}
