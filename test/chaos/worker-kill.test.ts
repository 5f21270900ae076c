import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { workerKill } from '../../chaos/scenarios/worker-kill';
import { cancelWithoutWorker } from '../../chaos/scenarios/cancel-without-worker';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: worker-kill (quick)', () => {
  it('2 SIGKILLs of the worker process during a 50k-row backfill: lost 0, duplicated 0 (every row written once), one attempt per kill', async () => {
    const r = await workerKill({ ...ctx, rows: 50_000, kills: 2 });
    expectClean(r);
    expect(r.runs).toBe(1);
  }, 300_000);

  it('cancel after the only worker was killed: the CLI says no worker took it; with a worker back the run ends CANCELLED (not FAILED), its row cancelled; resume completes exactly', async () => {
    expectClean(await cancelWithoutWorker(ctx));
  }, 300_000);
});
