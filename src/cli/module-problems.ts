import { resolve } from 'node:path';
import { isCsvSource, isHttpSource, isPostgresSource, type Integration } from '../config/schema';
import { isCustomSink } from '../config/sink-schema';
import { mappingModuleOf } from '../config/transform-schema';
import { sinkFactory } from '../sinks/registry';
import { sourceFactory } from '../sources/registry';
import { loadMappingModule } from '../transform/mapping-module';

/**
 * The user modules an integration names (`source.module`, `sink.module`, `mapping.module`), loaded here as a worker
 * loads them: a path that does not exist, a module that throws when loaded, or one that exports no factory is refused
 * before a workflow starts, naming the field. Before this, such a run started, failed, and left a run row and a
 * checkpoint behind, and a schedule failed the same way at every tick (an acceptance run). What the factory returns
 * is checked when a run builds it (it may need the worker's environment). A path with `${…}` is an instance's: its
 * run checks it.
 */
export function moduleProblems(it: Integration): string[] {
  const out: string[] = [];
  const check = (field: string, load: () => unknown) => {
    try {
      load();
    } catch (err) {
      out.push(`integrations[${it.id}].${field}: ${(err as Error).message}`);
    }
  };
  const source = it.source as { kind: string; module?: string };
  if (!isPostgresSource(it.source) && !isHttpSource(it.source) && !isCsvSource(it.source) && !templated(source.module)) {
    check('source.module', () => sourceFactory(source.kind, source.module));
  }
  if (isCustomSink(it.sink) && !templated(it.sink.module)) {
    const sink = it.sink;
    check('sink.module', () => sinkFactory(sink.kind, sink.module));
  }
  const mapping = mappingModuleOf(it.mapping);
  // A module without columns of its own takes the source's, known only to a run: one stands in for them here.
  if (mapping && !templated(mapping)) check('mapping.module', () => loadMappingModule(resolve(mapping), [{ name: 'id', type: 'text', notNull: false }]));
  return out;
}

const templated = (path: string | undefined) => path?.includes('${') ?? false;
