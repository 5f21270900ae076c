import { afterAll, beforeAll, describe, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { concurrentStarts } from '../../chaos/scenarios/concurrent-starts';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: concurrent-starts (quick)', () => {
  it('two starts at once: one runs, the other is told "busy"; runs of one integration never write at the same time', async () => {
    expectClean(await concurrentStarts(ctx));
  }, 300_000);
});
