import { expect, inject } from 'vitest';
import type { ChaosContext } from '../../chaos/lib/context';
import type { ScenarioResult } from '../../chaos/lib/report';
import type { RunningDevServer } from '../../src/dev';
import { devServerForTests } from '../setup/database';

/**
 * The quick variants of the chaos scenarios (`npm run chaos -- --quick`), run by the same functions,
 * on a dev server of the test file's own and the run's PostgreSQL.
 */
export async function quickChaos(): Promise<{ ctx: ChaosContext; server: RunningDevServer }> {
  const server = await devServerForTests();
  const ctx: ChaosContext = {
    temporalAddress: server.address,
    adminUrl: inject('adminDatabaseUrl'),
    quick: true,
    log: () => undefined,
  };
  return { ctx, server };
}

/** Nothing lost, nothing duplicated, every check of the scenario passed (its findings as the message). */
export function expectClean(r: ScenarioResult): void {
  const why = [...r.failures, ...r.details].join('\n');
  expect(r.failures, why).toEqual([]);
  expect(r.lost, why).toBe(0);
  expect(r.duplicated, why).toBe(0);
  expect(r.ok, why).toBe(true);
}
