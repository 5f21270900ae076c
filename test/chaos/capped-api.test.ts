import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { cappedApi } from '../../chaos/scenarios/capped-api';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: capped-api (quick)', () => {
  it('an API that silently caps its pages at 400 (and fails 5%): every style reads everything, backfill and sync; a cap below a tie group fails loudly', async () => {
    const r = await cappedApi(ctx);
    expectClean(r);
    expect(r.runs).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
