import type { TestProject } from 'vitest/node';
import { ensureTemporalCli, ensureTestServer, startEmbeddedPostgres } from '../../src/dev';
import { ensureChromium } from '../../src/dev/chromium';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL ($DATABASE_URL or an embedded cluster); see createTestDatabase(). */
    adminDatabaseUrl: string;
    /** Temporal CLI binary, or '' to let the SDK download one. */
    temporalCliPath: string;
    /** Time-skipping test server executable, or '' to let the SDK download one. */
    testServerPath: string;
    /** Headless Chromium for the operator page's browser tests, or '' when none could be had. */
    chromePath: string;
  }
}

/**
 * Runs once per `vitest run`: installs the servers' binaries here so test files don't race to
 * install them, and starts one PostgreSQL that every test file carves its own database out of.
 * No Temporal server starts here: each test file starts the kind it needs.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [cli, testServer, chrome] = await Promise.all([ensureTemporalCli(), ensureTestServer(), ensureChromium()]);
  const external = process.env.DATABASE_URL;
  const postgres = external ? undefined : await startEmbeddedPostgres({});
  project.provide('adminDatabaseUrl', external ?? (postgres?.url as string));
  project.provide('temporalCliPath', cli ?? '');
  project.provide('testServerPath', testServer ?? '');
  project.provide('chromePath', chrome ?? '');
  return async () => {
    await postgres?.stop();
  };
}
