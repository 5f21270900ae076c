import { constants } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { CsvFileError } from './csv-errors';

/**
 * Open flags for a CSV file at its resolved path: a symlink put in its place after the check below fails the
 * open (ELOOP) instead of being followed.
 */
export const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

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
    return path;
  }
  if (/^\/(proc|sys|dev)(\/|$)/.test(real)) throw new CsvFileError(`source.path ${path} resolves to ${real}, a system file, not a CSV file: refused`);
  if (within === undefined) return real;
  // Its own last name is taken as written: an instance's directory (or file) that is a link does not widen it.
  const dir = join(await realpath(dirname(resolve(within))).catch(() => dirname(resolve(within))), basename(within));
  if (real !== dir && !real.startsWith(dir + sep)) {
    throw new CsvFileError(`source.path ${path} resolves to ${real}, outside ${dir} (source.within): a symlink may not lead a run out of its directory`);
  }
  return real;
}
