import { startMockApi, type MockApi } from '../../src/mock-api';
import { compareWithApi } from '../lib/api-dataset';
import { apiIntegration, type ApiStyle } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import type { ScenarioResult } from '../lib/report';

/**
 * api-faults: the http source against the mock API answering 10% of requests with 500/502/503, some
 * with 429 + Retry-After (both forms), some connections dropped without an answer, some 200s with half
 * a JSON body. Each pagination style reads the whole dataset (backfill), then the API changes orders
 * and a sync reads the changes; after each, the target must equal the API's dataset exactly.
 */
export function apiFaults(ctx: ChaosContext): Promise<ScenarioResult> {
  let api: MockApi | undefined;
  return runScenario(ctx, 'api-faults', async (h) => {
    api = await startMockApi({ records: ctx.quick ? 3_000 : 20_000, seed: 11, failRate: 0.1, throttleRate: 0.03, dropRate: 0.03, truncateRate: 0.03, retryAfter: 1 });
    await body(h, api);
  }).finally(() => api?.close());
}

async function body(h: Harness, api: MockApi): Promise<void> {
  const { ctx, f } = h;
  h.ws.env.API_URL = api.url;
  const styles: ApiStyle[] = ctx.quick ? ['cursor', 'time_window'] : ['cursor', 'time_window', 'starting_after'];
  const target = (s: ApiStyle) => `api.orders_${s}`;
  h.ws.writeConfig({ integrations: styles.map((s) => apiIntegration(`api-${s.replace(/_/g, '-')}`, { style: s, target: target(s), pageSize: 100 })) });
  await h.ws.startWorker();
  const seen = { error: 0, throttle: 0, drop: 0, truncate: 0, requests: 0 };

  for (const style of styles) {
    const id = `api-${style.replace(/_/g, '-')}`;
    // Every kind of fault at least once, whatever the dice say, then 10% 5xx and 3% of each other kind.
    api.resetStats();
    api.injectFaults('error', 'throttle', 'drop', 'truncate');
    const backfill = await h.ws.cli('backfill', id, '--wait');
    f.check(backfill.code === 0, `${id}: backfill --wait exit ${backfill.code}: ${backfill.stderr.trim()}`);
    recordComparison(f, `${id} backfill`, await compareWithApi(api, h.dst.url, target(style)));
    const s = api.stats();
    for (const k of ['error', 'throttle', 'drop', 'truncate'] as const) seen[k] += s.faults[k];
    seen.requests += s.requests;
    h.log(`${id}: backfill through ${s.requests} requests: ${s.faults.error} 5xx, ${s.faults.throttle} 429, ${s.faults.drop} dropped, ${s.faults.truncate} truncated`);

    // starting_after sees only new records (an append-only style); the others see changes too.
    const change = api.mutate(ctx.quick ? 60 : 300);
    const sync = await h.ws.cli('sync', id, '--wait');
    f.check(sync.code === 0, `${id}: sync --wait exit ${sync.code}: ${sync.stderr.trim()}`);
    const after = await compareWithApi(api, h.dst.url, target(style));
    if (style === 'starting_after') {
      // Updates to records already passed are not visible to this style (documented in its paginator).
      const stale = after.lost;
      f.check(after.duplicated === 0 && stale <= change.updated.length, `${id}: after the sync ${after.lost} rows differ, more than the ${change.updated.length} updated`);
      f.detail(`${id} sync: ${change.inserted.length} new records arrived; ${stale} updated ones are not seen by starting_after (append-only style, as documented)`);
    } else recordComparison(f, `${id} sync after ${change.updated.length} updates + ${change.inserted.length} inserts`, after);
    await recordRuns(h, id);
  }
  f.detail(`faults over ${seen.requests} requests: ${seen.error} 5xx, ${seen.throttle} 429 with Retry-After, ${seen.drop} dropped connections, ${seen.truncate} truncated bodies`);
  f.check(seen.error > 0 && seen.throttle > 0 && seen.drop > 0 && seen.truncate > 0, 'not every kind of fault happened');
}
