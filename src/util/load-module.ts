import { createRequire } from 'node:module';
import { extname, resolve, sep } from 'node:path';

const requireHere = createRequire(__filename);

/**
 * A user's module (`source.module`, `sink.module`, `mapping.module`), absolute or a package name. TypeScript modules
 * load through tsx's API (a dev dependency); compiled .js modules need nothing. Without tsx a .ts module loads only
 * when the worker itself runs under a TypeScript loader, and its error says so (a bare "Unexpected identifier" did not).
 */
export function loadUserModule(path: string): Record<string, unknown> {
  try {
    return load(path);
  } catch (err) {
    // Node's "Require stack:" lists tidemark's own files too: not the user's concern (it ran into runs.error and the
    // CLI). The user's own entries stay: they say which of their files asked for what is missing (the review).
    const e = err as Error & { code?: string };
    const message = typeof e.message === 'string' ? e.message.replace(/\nRequire stack:((?:\n- [^\n]*)*)/, (_, list: string) => userEntries(list)) : undefined;
    if (message === undefined || message === e.message) throw err;
    throw Object.assign(new Error(message, { cause: err }), { code: e.code });
  }
}

/** tidemark's own folder (src/ or dist/ is below it): its files in a require stack are left out. */
const OWN = resolve(__dirname, '..', '..');

function userEntries(list: string): string {
  const kept = list.split('\n').filter((l) => l.startsWith('- ') && !l.slice(2).startsWith(OWN + sep));
  return kept.length ? `\nRequire stack:\n${kept.join('\n')}` : '';
}

function load(path: string): Record<string, unknown> {
  if (!/^\.[cm]?ts$/.test(extname(path))) return requireHere(path) as Record<string, unknown>;
  let api: { require(id: string, from: string): unknown } | undefined;
  try {
    api = requireHere('tsx/cjs/api') as typeof api;
  } catch {
    // no tsx: works only when the worker itself runs under a TypeScript loader
  }
  if (api) return api.require(path, __filename) as Record<string, unknown>;
  try {
    return requireHere(path) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${(err as Error).message} (a .ts module needs tsx installed beside tidemark, or compile it to .js)`, { cause: err });
  }
}
