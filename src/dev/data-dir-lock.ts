import { openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import path from 'node:path';

/** Whether a process with this pid runs (signal 0 tests without sending; EPERM: it runs under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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
 * Claims a `tidemark dev` data dir for this process, or refuses while another live process holds it: a second
 * stack on the same folder started a second Temporal server on its SQLite file (SQLITE_BUSY and shard-ownership
 * errors in the first stack) before PostgreSQL refused the folder (an acceptance run). A lock left by a process
 * that is gone (kill -9) is taken over. Returns the release.
 */
export function lockDataDir(dataDir: string, pgDataDir?: string): () => void {
  const lock = path.join(dataDir, 'tidemark-dev.pid');
  const refuse = (pid: number, what: string) => {
    throw new Error(`the data dir ${dataDir} is in use by ${what} (pid ${pid}): stop it first, or pick another --data-dir`);
  };
  for (let tries = 0; ; tries++) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw err;
      const holder = pidIn(lock);
      if (holder !== undefined && holder !== process.pid && alive(holder)) refuse(holder, 'another `tidemark dev`');
      rmSync(lock, { force: true }); // stale: its process is gone
    }
  }
  const release = () => {
    if (pidIn(lock) === process.pid) rmSync(lock, { force: true });
  };
  // A PostgreSQL still running on the cluster (a stack of an older tidemark, or one whose parent was killed).
  const postmaster = pgDataDir ? pidIn(path.join(pgDataDir, 'postmaster.pid')) : undefined;
  if (postmaster !== undefined && alive(postmaster)) {
    release();
    refuse(postmaster, 'a running PostgreSQL');
  }
  return release;
}
