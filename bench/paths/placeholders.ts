import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config';
import type { BenchPath } from './types';

const NOT_YET = 'n/a (not implemented yet)';

function accepts(integration: Record<string, unknown>): boolean {
  try {
    parseConfig({ integrations: [{ id: 'probe', sink: { table: 'public.t', key: ['id'] }, ...integration }] });
    return true;
  } catch {
    return false;
  }
}

/** A placeholder row: printed as n/a until the feature exists (and then until its bench path is written). */
function placeholder(id: 'http', label: string, describe: string, detect: () => boolean): BenchPath {
  const unavailable = () => (detect() ? 'n/a (feature detected; its bench path is not written yet)' : NOT_YET);
  const fail = () => Promise.reject(new Error(`${id}: ${unavailable()}`));
  return { id, label, describe, unavailable, rows: () => 0, prepare: fail, run: fail, check: fail };
}

const repoRoot = join(__dirname, '..', '..');

export const httpPath = placeholder(
  'http',
  'HTTP source (mock API)',
  'the HTTP source paging the bundled mock API',
  () => accepts({ source: { kind: 'http', url: 'http://127.0.0.1:1/x' } }) || existsSync(join(repoRoot, 'src', 'sources', 'http')),
);
