import type { Sink } from './sink';

/** What a sink factory gets besides its options (everything resolved in the worker, none in workflow history). */
export interface SinkContext {
  /** The integration (or instance) id. */
  integration: string;
  /** Resolves `${NAME}` references in an option from the worker's environment. */
  env(value: string, field: string): string;
  /** The state database (tidemark.*): where the page's transaction runs. */
  stateDbUrl: string;
}

/**
 * What a factory returns: a Sink whose `kind`, `commitsWithCheckpoint` and `close` may be left out (tidemark fills them
 * in: the config's kind, a generic line, a no-op). The README's example leaves them out (an acceptance run: it did not
 * type-check while `kind` was required).
 */
export type CustomSink = Omit<Sink, 'kind' | 'commitsWithCheckpoint' | 'close'> & Partial<Pick<Sink, 'kind' | 'commitsWithCheckpoint' | 'close'>>;

/** What a custom sink module exports (default export, or `sink`): options from the config → a sink. */
export type SinkFactory = (options: Record<string, unknown>, ctx: SinkContext) => Promise<CustomSink> | CustomSink;

/** Identity, for type inference in a sink module: `export default defineSink((options, ctx) => ({ … }))`. */
export function defineSink(factory: SinkFactory): SinkFactory {
  return factory;
}
