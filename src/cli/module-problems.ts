import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { isCsvSource, isHttpSource, isPostgresSource, type Integration } from '../config/schema';
import { isCustomSink } from '../config/sink-schema';
import { mappingModuleOf } from '../config/transform-schema';
import { sinkFactory } from '../sinks/registry';
import { sourceFactory } from '../sources/registry';
import { loadMappingModule } from '../transform/mapping-module';
import { modulePathFrom } from '../util/module-path';

const requireHere = createRequire(__filename);

/** Throws require's error when nothing answers to the path; TypeScript files count (tsx resolves them without an extension). */
function resolvable(path: string): void {
  try {
    requireHere.resolve(path);
  } catch (err) {
    if (!['.ts', '.mts', '.cts', '/index.ts'].some((ext) => existsSync(path + ext))) throw err;
  }
}

/**
 * The user modules an integration names (`source.module`, `sink.module`, `mapping.module`), checked before a workflow
 * starts, naming the field: before this, a missing one started the run, which failed and left a run row and a
 * checkpoint behind, and a schedule failed the same way at every tick (an acceptance run).
 * - `load: false` (sync, backfill, resume, schedule apply): the file must exist. The CLI does not run a module's code:
 *   it may need the workers' environment, packages or a TypeScript loader, or keep a process alive (the review).
 * - `load: true` (the worker, before it takes any task): loaded as a run loads it, so one that throws when loaded or
 *   exports no factory is refused too. What a factory returns is checked when a run builds it.
 * A kind with no `module` may be registered in code (registerSource/registerSink), and a path with `${…}` is an
 * instance's: not checked here.
 */
export function moduleProblems(it: Integration, opts: { load: boolean }): string[] {
  const out: string[] = [];
  const check = (field: string, path: string | undefined, load: () => unknown) => {
    if (!path || path.includes('${')) return;
    try {
      if (opts.load) load();
      else resolvable(modulePathFrom(path));
    } catch (err) {
      const why = (err as Error).message.split('\n')[0];
      out.push(`integrations[${it.id}].${field}: ${opts.load ? why : `${path} cannot be found (${why})`}`);
    }
  };
  const source = it.source as { kind: string; module?: string };
  if (!isPostgresSource(it.source) && !isHttpSource(it.source) && !isCsvSource(it.source)) {
    check('source.module', source.module, () => sourceFactory(source.kind, source.module));
  }
  if (isCustomSink(it.sink)) {
    const sink = it.sink;
    check('sink.module', sink.module, () => sinkFactory(sink.kind, sink.module));
  }
  // A module without columns of its own takes the source's, known only to a run: one stands in for them here.
  const mapping = mappingModuleOf(it.mapping);
  check('mapping.module', mapping, () => loadMappingModule(resolve(mapping as string), [{ name: 'id', type: 'text', notNull: false }]));
  return out;
}
