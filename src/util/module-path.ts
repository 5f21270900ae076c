import { resolve } from 'node:path';

/**
 * A `module:` path as a loader takes it: loadConfig made a config file's relative paths absolute against the file;
 * a config built in code (the test kit, `createWorker({ config })`) keeps them relative, and they mean the current
 * directory, not tidemark's own folder (where require() would look). Package names are left to module resolution.
 */
export function modulePathFrom(path: string): string {
  return /^\.\.?[\\/]/.test(path) ? resolve(process.cwd(), path) : path;
}
