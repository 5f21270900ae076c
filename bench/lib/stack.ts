import { startDevServer, startEmbeddedPostgres, type RunningDevServer, type RunningPostgres } from '../../src/dev';
import { ensureDatabase } from './db';

export interface BenchStack {
  /** 'embedded' (a private throwaway cluster: fsync off) or 'DATABASE_URL' */
  postgres: 'embedded' | 'DATABASE_URL';
  serverUrl: string;
  srcUrl: string;
  dstUrl: string;
  /** set when a path needs Temporal */
  temporalAddress?: string;
  stop(): Promise<void>;
}

/** Temporal dev server (only when needed) + embedded PostgreSQL (unless DATABASE_URL), started together. */
export async function startBenchStack(opts: { temporal: boolean; log: (s: string) => void }): Promise<BenchStack> {
  const external = process.env.DATABASE_URL;
  const t0 = performance.now();
  const [temporal, postgres] = await Promise.allSettled([
    opts.temporal ? startDevServer({}) : Promise.resolve(undefined),
    external ? Promise.resolve(undefined) : startEmbeddedPostgres({}),
  ]);
  const server: RunningDevServer | undefined = temporal.status === 'fulfilled' ? temporal.value : undefined;
  const db: RunningPostgres | undefined = postgres.status === 'fulfilled' ? postgres.value : undefined;
  const stop = async () => {
    await Promise.all([server?.stop(), db?.stop()]);
  };
  if (temporal.status === 'rejected' || postgres.status === 'rejected') {
    await stop();
    throw temporal.status === 'rejected' ? temporal.reason : (postgres as PromiseRejectedResult).reason;
  }
  const serverUrl = db?.url ?? (external as string);
  const [srcUrl, dstUrl] = [await ensureDatabase(serverUrl, 'tidemark_bench_src'), await ensureDatabase(serverUrl, 'tidemark_bench_dst')];
  opts.log(
    `stack up in ${((performance.now() - t0) / 1000).toFixed(1)} s: PostgreSQL ${db ? `embedded on port ${db.port}` : 'from DATABASE_URL'}` +
      (server ? `, Temporal dev server at ${server.address}` : ''),
  );
  return { postgres: db ? 'embedded' : 'DATABASE_URL', serverUrl, srcUrl, dstUrl, temporalAddress: server?.address, stop };
}
