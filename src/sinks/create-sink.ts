import { resolveEnvRefs } from '../config/env-refs';
import { isHttpSink, type CustomSinkConfig, type HttpSinkConfig } from '../config/sink-schema';
import { createHttpSink } from './http';
import { sinkFactory, SinkModuleError } from './registry';
import { insertDeadLetters } from '../db/state/dead-letters';
import type { Sink } from './sink';

/**
 * Builds the sink of an integration whose pages go through the Sink contract (every kind but postgres,
 * whose COPY fast path the page loop drives directly). Inside the activity: `${NAME}` references are
 * resolved here from the worker's environment; OAuth2 tokens use the worker-wide cache and `stateDbUrl`.
 */
export async function createSink(cfg: HttpSinkConfig | CustomSinkConfig, integration: string, env: NodeJS.ProcessEnv, stateDbUrl: string): Promise<Sink> {
  if (isHttpSink(cfg)) return createHttpSink(cfg, { integration, env, stateDbUrl });
  const { kind, module, stateUrl: _stateUrl, ...options } = cfg as CustomSinkConfig;
  const resolve = (value: string, field: string) => resolveEnvRefs(value, `integrations[${integration}].sink.${field}`, env);
  const made = (await sinkFactory(kind, module)(options, { integration, env: resolve, stateDbUrl })) as Partial<Sink> | undefined;
  return asSink(kind, module, made);
}

/** A custom factory's result checked once (a module written against another version fails here, named). */
function asSink(kind: string, module: string | undefined, made: Partial<Sink> | undefined): Sink {
  const missing = (['prepare', 'write'] as const).filter((m) => typeof made?.[m] !== 'function');
  if (!made || missing.length) {
    throw new SinkModuleError(`sink kind "${kind}"${module ? ` (${module})` : ''}: the factory must return { prepare(columns), write(tx, page, ctx), close?() }; missing ${missing.join(', ') || 'everything'}`);
  }
  const write = made.write!.bind(made);
  return {
    kind,
    commitsWithCheckpoint: made.commitsWithCheckpoint ?? `whatever sink "${kind}" writes with the transaction it is given`,
    prepare: made.prepare!.bind(made),
    // A refused record is a dead letter (the CLI says so, `dead-letters --retry` writes it later): one the sink
    // counts without keeping it would be lost while the run says it was kept aside (an acceptance run).
    async write(tx, page, ctx) {
      let kept = 0;
      const refuse = async (letters: ReadonlyArray<{ record: Record<string, unknown>; reason: string }>) => {
        const letters_ = letters.map((l) => ({ record: l.record, reason: String(l.reason), stage: 'write' as const }));
        await (ctx.refuse ? ctx.refuse(letters_) : insertDeadLetters(tx, ctx.integration, ctx.runId, page.cursor, letters_));
        kept += letters.length;
      };
      const result = await write(tx, page, { ...ctx, refuse });
      const refused = Number(result?.refused ?? 0);
      if (refused !== kept) {
        throw new SinkModuleError(
          `sink kind "${kind}"${module ? ` (${module})` : ''}: write() returned refused: ${refused} but kept ${kept} record(s) as dead letters: pass each refused record to ctx.refuse([{ record, reason }]) (in the page's transaction), so it can be retried, and count exactly those`,
        );
      }
      return result;
    },
    close: typeof made.close === 'function' ? made.close.bind(made) : async () => undefined,
  };
}
