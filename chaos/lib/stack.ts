import { startDevServer, startEmbeddedPostgres, type RunningDevServer, type RunningPostgres } from '../../src/dev';

export interface ChaosStack {
  temporalAddress: string;
  /** superuser URL: an embedded cluster, or DATABASE_URL */
  adminUrl: string;
  describe: string;
  stop(): Promise<void>;
}

/** The Temporal dev server (the cached CLI; installed on first use) and PostgreSQL (embedded unless DATABASE_URL). */
export async function startChaosStack(): Promise<ChaosStack> {
  const external = process.env.DATABASE_URL;
  const [temporal, postgres] = await Promise.allSettled([startDevServer({}), external ? Promise.resolve(undefined) : startEmbeddedPostgres({})]);
  const server: RunningDevServer | undefined = temporal.status === 'fulfilled' ? temporal.value : undefined;
  const db: RunningPostgres | undefined = postgres.status === 'fulfilled' ? postgres.value : undefined;
  const stop = async () => {
    await Promise.all([server?.stop(), db?.stop()]);
  };
  if (!server || postgres.status === 'rejected') {
    await stop();
    throw temporal.status === 'rejected' ? temporal.reason : (postgres as PromiseRejectedResult).reason;
  }
  return {
    temporalAddress: server.address,
    adminUrl: db?.url ?? (external as string),
    describe: `Temporal dev server at ${server.address}, PostgreSQL ${db ? `embedded on port ${db.port}` : 'from DATABASE_URL'}`,
    stop,
  };
}
