import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultDevPgDataDir } from '../../src/dev/dev-data-dir';

const root = mkdtempSync(join(tmpdir(), 'tidemark-devdir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('tidemark dev: where PostgreSQL keeps its data by default', () => {
  it('<data-dir>/pg when the server user can reach it', async () => {
    const open = join(root, 'open');
    mkdirSync(open, { mode: 0o755 });
    const { chmodSync } = await import('node:fs');
    chmodSync(root, 0o755);
    expect(await defaultDevPgDataDir(join(open, '.tidemark', 'dev'))).toBe(join(open, '.tidemark', 'dev', 'pg'));
  });

  it('in a private (mode-700) checkout as root: a folder of its own under the shared dir, the same on every run', async () => {
    const priv = join(root, 'private');
    mkdirSync(priv, { mode: 0o700 });
    const first = await defaultDevPgDataDir(join(priv, '.tidemark', 'dev'));
    if (process.getuid?.() === 0) {
      expect(first.startsWith(priv)).toBe(false);
      expect(first).toMatch(/dev-[0-9a-f]{12}\/pg$/);
      expect(await defaultDevPgDataDir(join(priv, '.tidemark', 'dev'))).toBe(first);
      expect(await defaultDevPgDataDir(join(priv, 'other'))).not.toBe(first);
    } else {
      // Not root: PostgreSQL runs as us, and we can enter our own private folder.
      expect(first).toBe(join(priv, '.tidemark', 'dev', 'pg'));
    }
  });
});
