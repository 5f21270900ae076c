import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { sourceHang } from '../../chaos/scenarios/source-hang';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: source-hang (quick)', () => {
  it('a source table locked past the heartbeat timeout (the attempt keeps heartbeating and finishes, no retry), and HTTP requests that never get an answer (retried): exact', async () => {
    const r = await sourceHang(ctx);
    expectClean(r);
    expect(r.runs).toBe(2);
  }, 300_000);
});
