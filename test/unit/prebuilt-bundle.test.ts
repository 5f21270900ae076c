import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prebuiltBundle } from '../../src/dev/workflow-bundle';
import { workflowCode } from '../../src/worker';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A fake dist/: compiled files at `compiledAt`, the bundles at `bundledAt` (seconds since the epoch). */
function dist(compiledAt: number, bundledAt?: number): string {
  dir = mkdtempSync(join(tmpdir(), 'tm-dist-'));
  mkdirSync(join(dir, 'workflows'));
  for (const f of ['worker.js', join('workflows', 'index.js')]) {
    writeFileSync(join(dir, f), '');
    utimesSync(join(dir, f), compiledAt, compiledAt);
  }
  if (bundledAt !== undefined) {
    for (const f of ['workflow-bundle.js', 'workflow-bundle-encrypted.js']) {
      writeFileSync(join(dir, f), '');
      utimesSync(join(dir, f), bundledAt, bundledAt);
    }
  }
  return dir;
}

describe('prebuilt workflow bundle', () => {
  it('is used when written after every compiled file, per flavour', () => {
    const d = dist(1_000, 1_010);
    expect(prebuiltBundle(d, 'plain')).toEqual({ codePath: join(d, 'workflow-bundle.js') });
    expect(prebuiltBundle(d, 'encrypted')).toEqual({ codePath: join(d, 'workflow-bundle-encrypted.js') });
  });

  it('is not used when a compiled file is newer (tsc ran without the bundle step): it could hold older workflows', () => {
    const d = dist(1_000, 1_010);
    utimesSync(join(d, 'workflows', 'index.js'), 1_020, 1_020);
    const r = prebuiltBundle(d, 'plain');
    expect(r.codePath).toBeUndefined();
    expect(r.reason).toBe(`workflow-bundle.js is older than ${join(d, 'workflows', 'index.js')} (npm run build refreshes it)`);
  });

  it('is not used when missing', () => {
    expect(prebuiltBundle(dist(1_000), 'plain').reason).toMatch(/no prebuilt workflow-bundle\.js/);
  });

  it('is never used by a worker running from the TypeScript sources (tests, tsx)', () => {
    expect(workflowCode(false)).toEqual({ reason: 'running from the TypeScript sources' });
    expect(workflowCode(true)).toEqual({ reason: 'running from the TypeScript sources' });
  });
});
