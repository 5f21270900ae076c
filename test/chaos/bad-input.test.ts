import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { badInput } from '../../chaos/scenarios/bad-input';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: bad-input (quick)', () => {
  it('100+ invalid configs, arguments and workflow inputs rejected before anything is written; invalid records go to dead letters', async () => {
    const r = await badInput(ctx);
    expectClean(r);
    expect(r.runs).toBeGreaterThanOrEqual(100);
  }, 300_000);
});
