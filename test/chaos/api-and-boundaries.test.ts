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

  it('one updated_at across pages, rows changing under a backfill, late commits inside lag, the writers wait, or beyond both (held before the open transaction): nothing lost', async () => {
    const r = await cursorBoundaries(ctx);
    expectClean(r);
    expect(r.note).toMatch(/late commits beyond lag and writersWait: held, not lost \([1-9]\d* run\(s\) held/);
  }, 300_000);
});
