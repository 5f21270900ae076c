import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { postgresRestart } from '../../chaos/scenarios/postgres-restart';
import { sigterm } from '../../chaos/scenarios/sigterm';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: graceful shutdown and database restarts (quick)', () => {
  it('SIGTERM while a page is being written: the page commits whole, a new worker resumes, exact target', async () => {
    const r = await sigterm(ctx);
    expectClean(r);
    expect(r.reprocessed).toBeLessThanOrEqual(2 * 2_000);
  }, 300_000);

  it('the sink/state PostgreSQL and then the source PostgreSQL restarted mid-run: retried, completed exactly', async () => {
    const r = await postgresRestart(ctx);
    expectClean(r);
    expect(r.runs).toBe(2);
    expect(r.reprocessed).toBeLessThanOrEqual(2 * 2_000);
  }, 300_000);
});
