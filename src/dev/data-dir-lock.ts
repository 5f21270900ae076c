import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { processAlive } from './process-alive';

/** Data dirs this process holds: a second stack of the same process on one is refused as well. */
const held = new Set<string>();

/** A live PostgreSQL server process: a pid of a stale postmaster.pid may since belong to anything (or be reused). */
function livePostgres(pid: number): boolean {
  if (pid === process.pid || pid === process.ppid || !processAlive(pid)) return false;
  try {
    return /postgres|postmaster/.test(readFileSync(`/proc/${pid}/comm`, 'utf8'));
  } catch {
    return true; // no /proc (macOS): alive is what we know
  }
}

function pidIn(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claims a `tidemark dev` data dir for this process, or refuses while another live stack holds it: a second
 * stack on the same folder started a second Temporal server on its SQLite file (SQLITE_BUSY and shard-ownership
 * errors in the first stack) before PostgreSQL refused the folder (an acceptance run). A lock left by a process
 * that is gone (kill -9) is taken over. Returns the release.
 */
export function lockDataDir(dataDir: string, pgDataDir?: string): () => void {
  const lock = path.join(dataDir, 'tidemark-dev.pid');
  const refuse = (pid: number, what: string): never => {
    throw new Error(`the data dir ${dataDir} is in use by ${what} (pid ${pid}): stop it first, or pick another --data-dir`);
  };
  if (held.has(dataDir)) refuse(process.pid, 'another stack of this process');
  for (let tries = 0; ; tries++) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = pidIn(lock);
      // Another process taking over the same stale lock at once won the race: it holds it now.
      if (tries > 0) refuse(holder ?? 0, 'another `tidemark dev`');
      if (holder !== undefined && holder !== process.pid && processAlive(holder)) refuse(holder, 'another `tidemark dev`');
      rmSync(lock, { force: true }); // stale: its process is gone
    }
  }
  held.add(dataDir);
  const release = () => {
    if (!held.delete(dataDir)) return;
    if (pidIn(lock) === process.pid) rmSync(lock, { force: true });
  };
  // A PostgreSQL still running on the cluster (a stack of an older tidemark, or one whose parent was killed).
  const postmaster = pgDataDir ? pidIn(path.join(pgDataDir, 'postmaster.pid')) : undefined;
  if (postmaster !== undefined && livePostgres(postmaster)) {
    release();
    refuse(postmaster, 'a running PostgreSQL');
  }
  return release;
}
