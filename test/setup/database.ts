import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import { startDevServer, type RunningDevServer } from '../../src/dev';
import { registerSearchAttributes } from '../../src/instances/search-attributes';

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database, closing any connections still open to it. */
  drop(): Promise<void>;
}

/** A fresh, empty database on the run's PostgreSQL (one per test file keeps files independent). */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 30);
  const name = `${safePrefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () =>
      withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`)),
  };
}

/** A Temporal dev server (real server, in-memory) with the CLI that global setup installed. */
export function devServerForTests(): Promise<RunningDevServer> {
  return startDevServer({ cliPath: inject('temporalCliPath') || undefined });
}

/** The time-skipping environment, run by the installed test server (or the SDK's download). */
export async function timeSkippingEnv(opts: { searchAttributes?: boolean } = {}): Promise<TestWorkflowEnvironment> {
  const path = inject('testServerPath');
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: path ? { type: 'existing-path', path } : { type: 'cached-download' } },
  });
  // Like `tidemark dev`: workflows carry TidemarkInstance… (this server records a start it refuses for an unknown one).
  if (opts.searchAttributes !== false) await registerSearchAttributes(env.connection);
  return env;
}

async function withAdmin(url: string, fn: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}
