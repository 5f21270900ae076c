/**
 * The modules commands load when they run, not when the CLI starts: `tidemark --help` (and registering
 * every command) loads none of Temporal, pg, zod or yaml (issue 12). Keyed by the specifier as written
 * from src/cli/, so a command names what it needs and gets it typed.
 */
interface LazyModules {
  'node:crypto': typeof import('node:crypto');
  'node:fs': typeof import('node:fs');
  'node:path': typeof import('node:path');
  '@temporalio/client': typeof import('@temporalio/client');
  '@temporalio/worker': typeof import('@temporalio/worker');
  '../activities/resume-refusal': typeof import('../activities/resume-refusal');
  '../client': typeof import('../client');
  '../codec/aes-gcm-codec': typeof import('../codec/aes-gcm-codec');
  '../codec/codec-server': typeof import('../codec/codec-server');
  '../codec/ui-origins': typeof import('../codec/ui-origins');
  '../config': typeof import('../config');
  '../config/cron': typeof import('../config/cron');
  '../config/load-config': typeof import('../config/load-config');
  '../config/temporal-env': typeof import('../config/temporal-env');
  '../config/unset-env-refs': typeof import('../config/unset-env-refs');
  '../pg/connect': typeof import('../pg/connect');
  '../db/move-checkpoint': typeof import('../db/move-checkpoint');
  '../db/state-session': typeof import('../db/state-session');
  '../db/state': typeof import('../db/state');
  '../demo/demo-data': typeof import('../demo/demo-data');
  '../dev': typeof import('../dev');
  '../dev/dev-data-dir': typeof import('../dev/dev-data-dir');
  '../dev/free-port': typeof import('../dev/free-port');
  '../dev/stack': typeof import('../dev/stack');
  '../instances': typeof import('../instances');
  '../mock-api': typeof import('../mock-api');
  '../schedules': typeof import('../schedules');
  '../sources/create-source': typeof import('../sources/create-source');
  '../sinks/sink-setup-problem': typeof import('../sinks/sink-setup-problem');
  '../sources/declared-columns': typeof import('../sources/declared-columns');
  '../sources/cursor-shape': typeof import('../sources/cursor-shape');
  '../sources/shard-support': typeof import('../sources/shard-support');
  '../transform/retry-dead-letters': typeof import('../transform/retry-dead-letters');
  '../ui/server': typeof import('../ui/server');
  '../util/poll': typeof import('../util/poll');
  '../util/sleep': typeof import('../util/sleep');
  '../verify': typeof import('../verify');
  '../worker': typeof import('../worker');
  './context': typeof import('./context');
  './progress-bar': typeof import('./progress-bar');
  './run-progress': typeof import('./run-progress');
  '../db/running-run-keys-at': typeof import('../db/running-run-keys-at');
  './stuck-task': typeof import('./stuck-task');
  './blocked-lines': typeof import('./blocked-lines');
  './close-client': typeof import('./close-client');
  './module-problems': typeof import('./module-problems');
  './unsafe-numbers': typeof import('./unsafe-numbers');
}

// Compiled (dist/*.js) or run through tsx, the CLI is CommonJS and require loads the module (tsx compiles
// it on the fly); a TypeScript import() there goes to Node's ESM loader, which cannot read .ts. Vitest runs
// the sources itself (in-process CLI tests) and its require cannot read .ts: there, import().
const viaRequire = !__filename.endsWith('.ts') || '.ts' in require.extensions;

/** The module `spec` (relative to src/cli/), loaded on first use and cached like any other. */
export async function lazy<K extends keyof LazyModules>(spec: K): Promise<LazyModules[K]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the lazy load itself, see above
  if (viaRequire) return require(spec) as LazyModules[K];
  return (await import(spec)) as LazyModules[K];
}
