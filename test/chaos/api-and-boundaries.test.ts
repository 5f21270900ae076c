import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { apiFaults } from '../../chaos/scenarios/api-faults';
import { cursorBoundaries } from '../../chaos/scenarios/cursor-boundaries';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: API faults and cursor boundaries (quick)', () => {
  it('5xx, 429 with Retry-After, dropped connections and truncated bodies: the exact dataset, backfill and sync', async () => {
    const r = await apiFaults(ctx);
    expectClean(r);
    expect(r.reprocessed).toBe(0);
  }, 300_000);

  it('one updated_at across pages, rows changing under a backfill, late commits inside lag or the writers wait: nothing lost; beyond both: the documented loss, with a run warning', async () => {
    const r = await cursorBoundaries(ctx);
    expectClean(r);
    expect(r.note).toMatch(/expected and documented: 1 row/);
  }, 300_000);
});
