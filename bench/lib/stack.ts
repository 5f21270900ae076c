import { chmodSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer, startEmbeddedPostgres, type RunningDevServer, type RunningPostgres } from '../../src/dev';
import { ensureDatabase, sql } from './db';

/**
 * 'durable': fsync, synchronous_commit and full_page_writes on, WAL on disk — what every user's database
 * pays. 'throwaway': all three off (a test cluster). With DATABASE_URL the server's own settings apply.
 */
export type Durability = 'durable' | 'throwaway';
export const DURABILITIES: readonly Durability[] = ['durable', 'throwaway'];

export interface BenchStack {
  /** 'embedded' (a private cluster of the given durability) or 'DATABASE_URL' */
  postgres: 'embedded' | 'DATABASE_URL';
  /** what the cluster was started as (DATABASE_URL: whatever the server is) */
  durability: Durability | 'as configured';
  /** where the cluster's data and WAL live, for the results (embedded only) */
  dataDir?: string;
  serverUrl: string;
  srcUrl: string;
  dstUrl: string;
  /** set when a path needs Temporal */
  temporalAddress?: string;
  stop(): Promise<void>;
}

const TMPFS_MAGIC = 0x01021994;

/** A durable cluster lives in a directory on disk that the bench removes afterwards. */
async function startPostgres(durability: Durability): Promise<{ db: RunningPostgres; dataDir: string; cleanup?: () => void }> {
  if (durability === 'throwaway') {
    const db = await startEmbeddedPostgres({});
    return { db, dataDir: '(a temporary directory)' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-bench-pg-'));
  chmodSync(dir, 0o755); // the server's OS user must enter it
  const dataDir = join(dir, 'data');
  // persistent: a cluster meant to keep its data, so crash-safe settings (see startEmbeddedPostgres)
  const db = await startEmbeddedPostgres({ dataDir, persistent: true }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return { db, dataDir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Fails loudly when the cluster does not run with the settings the results will claim. */
async function checkDurability(url: string, durability: Durability): Promise<void> {
  const rows = await sql<{ name: string; setting: string }>(url, `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')`);
  const want = durability === 'durable' ? 'on' : 'off';
  const wrong = rows.filter((r) => r.setting !== want);
  if (wrong.length || rows.length !== 3) {
    throw new Error(`bench: the ${durability} cluster runs with ${rows.map((r) => `${r.name}=${r.setting}`).join(', ')}; expected all ${want}`);
  }
}

/** Temporal dev server (only when needed) + PostgreSQL (embedded of the given durability, or DATABASE_URL), started together. */
export async function startBenchStack(opts: { temporal: boolean; log: (s: string) => void; durability?: Durability }): Promise<BenchStack> {
  const external = process.env.DATABASE_URL;
  const durability = opts.durability ?? 'durable';
  const t0 = performance.now();
  const [temporal, postgres] = await Promise.allSettled([
    opts.temporal ? startDevServer({}) : Promise.resolve(undefined),
    external ? Promise.resolve(undefined) : startPostgres(durability),
  ]);
  const server: RunningDevServer | undefined = temporal.status === 'fulfilled' ? temporal.value : undefined;
  const pg = postgres.status === 'fulfilled' ? postgres.value : undefined;
  const stop = async () => {
    await Promise.all([server?.stop(), pg?.db.stop()]);
    pg?.cleanup?.();
  };
  if (temporal.status === 'rejected' || postgres.status === 'rejected') {
    await stop();
    throw temporal.status === 'rejected' ? temporal.reason : (postgres as PromiseRejectedResult).reason;
  }
  const serverUrl = pg?.db.url ?? (external as string);
  try {
    if (pg) await checkDurability(serverUrl, durability);
  } catch (err) {
    await stop();
    throw err;
  }
  const [srcUrl, dstUrl] = [await ensureDatabase(serverUrl, 'tidemark_bench_src'), await ensureDatabase(serverUrl, 'tidemark_bench_dst')];
  const where = pg?.cleanup ? `${pg.dataDir} (${statfsSync(pg.dataDir).type === TMPFS_MAGIC ? 'tmpfs: in memory!' : 'on disk'})` : pg?.dataDir;
  opts.log(
    `stack up in ${((performance.now() - t0) / 1000).toFixed(1)} s: PostgreSQL ${pg ? `embedded (${durability}) on port ${pg.db.port}, data in ${where}` : 'from DATABASE_URL'}` +
      (server ? `, Temporal dev server at ${server.address}` : ''),
  );
  return {
    postgres: pg ? 'embedded' : 'DATABASE_URL',
    durability: pg ? durability : 'as configured',
    ...(where ? { dataDir: where } : {}),
    serverUrl,
    srcUrl,
    dstUrl,
    temporalAddress: server?.address,
    stop,
  };
}
