import { constants } from 'node:fs';
import { lstat, realpath, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { CsvFileError } from './csv-errors';

/**
 * Open flags for a CSV file at its resolved path: a symlink put in its place after the check below fails the
 * open (ELOOP) instead of being followed; a FIFO does not block the open.
 */
export const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The file a CSV source reads, symlinks resolved, and read there from then on. A security acceptance run: a
 * tenant who can put files in its upload directory linked `orders.csv` to another tenant's file (read and stored
 * under its own id) and to /proc/self/environ (the worker's secrets quoted in the header error). So the file must
 * resolve inside `within` (source.within; for a template whose path names an instance, that instance's directory),
 * and never to the kernel's pseudo-files. A missing file is returned as given: opening it names the problem.
 */
export async function confinedPath(path: string, within?: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) throw new CsvFileError(`source.path ${path} is a symlink to a file that does not exist`);
    return path;
  }
  if (/^\/(proc|sys|dev)(\/|$)/.test(real)) throw new CsvFileError(`source.path ${path} resolves to ${real}, a system file, not a CSV file: refused`);
  if (within === undefined) return real;
  // Its own last name is taken as written: an instance's directory (or file) that is a link does not widen it.
  const full = resolve(within);
  const dir = join(await realpath(dirname(full)).catch(() => dirname(full)), basename(full));
  if (real !== dir && !real.startsWith(dir + sep)) {
    throw new CsvFileError(`source.path ${path} resolves to ${real}, outside ${dir} (source.within): a symlink may not lead a run out of its directory`);
  }
  return real;
}

/**
 * After each open of `path` (the run's resolved path): the file opened must be that one. A directory on the way
 * swapped for a link after the check (a tenant's subfolder) would otherwise lead the open elsewhere. Linux tells
 * through /proc/self/fd; elsewhere only the last name is guarded (O_NOFOLLOW).
 */
export async function checkOpened(fh: FileHandle, path: string): Promise<void> {
  const opened = await realpath(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
  if (opened === undefined || opened === path || !path.startsWith(sep)) return;
  await fh.close();
  throw new CsvFileError(`source.path ${path} now leads to ${opened} (a directory on its way was replaced by a link after the run resolved it): refused`);
}
