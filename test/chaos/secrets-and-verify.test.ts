import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import { secrets } from '../../chaos/scenarios/secrets';
import { verifyRepair } from '../../chaos/scenarios/verify-repair';
import type { RunningDevServer } from '../../src/dev';
import { expectClean, quickChaos } from './quick-chaos';

let ctx: ChaosContext;
let server: RunningDevServer;
beforeAll(async () => ({ ctx, server } = await quickChaos()));
afterAll(async () => server?.stop());

describe('chaos: secrets and verify (quick)', () => {
  it('no secret value in any history, worker output or CLI output; with TIDEMARK_ENCRYPTION_KEY only ciphertext in history', async () => {
    const r = await secrets(ctx);
    expectClean(r);
    expect(r.runs).toBe(10);
  }, 300_000);

  it('verify finds exactly the damaged key ranges and --repair rewrites exactly the damaged rows', async () => {
    expectClean(await verifyRepair(ctx));
  }, 300_000);
});
