import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { realData } from '../../chaos/scenarios/real-data';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: real-data (quick)', () => {
  it('json/xml/geometric columns, refused rows, deletes, a new column: exact after retry and verify --delete; the delete guard holds', async () => {
    const r = await realData(ctx);
    expectClean(r);
    expect(r.runs).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
