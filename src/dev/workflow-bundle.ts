import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Prebuilt workflow bundles, written next to the compiled worker by `npm run build`: a worker that
 * loads one skips webpack at start (about 100 MB less peak memory, seconds less start-up). Two
 * flavours, because the encrypting failure converter is compiled into the workflow sandbox.
 */
export const BUNDLE_FILES = { plain: 'workflow-bundle.js', encrypted: 'workflow-bundle-encrypted.js' } as const;
export type BundleKind = keyof typeof BUNDLE_FILES;

export type PrebuiltBundle = { codePath: string; reason?: undefined } | { codePath?: undefined; reason: string };

/**
 * The prebuilt bundle in `distDir` when it is current: written after every compiled file there, so it
 * holds the same workflow code as the worker that loads it. Otherwise the reason it is not used (the
 * worker then bundles `workflows/index.js` at start, as before). Walks dist/ (a few hundred files, ~ms).
 */
export function prebuiltBundle(distDir: string, kind: BundleKind): PrebuiltBundle {
  const codePath = join(distDir, BUNDLE_FILES[kind]);
  if (!existsSync(codePath)) return { reason: `no prebuilt ${BUNDLE_FILES[kind]} (npm run build writes it)` };
  const builtAt = statSync(codePath).mtimeMs;
  const newer = newestCompiled(distDir, new Set(Object.values(BUNDLE_FILES)));
  if (newer && newer.mtimeMs > builtAt) return { reason: `${BUNDLE_FILES[kind]} is older than ${newer.path} (npm run build refreshes it)` };
  return { codePath };
}

function newestCompiled(dir: string, skip: Set<string>): { path: string; mtimeMs: number } | undefined {
  let best: { path: string; mtimeMs: number } | undefined;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const found = e.isDirectory() ? newestCompiled(p, skip) : e.name.endsWith('.js') && !skip.has(e.name) ? { path: p, mtimeMs: statSync(p).mtimeMs } : undefined;
    if (found && (!best || found.mtimeMs > best.mtimeMs)) best = found;
  }
  return best;
}
