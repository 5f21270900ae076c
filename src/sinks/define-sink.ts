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

/** What a custom sink module exports (default export, or `sink`): options from the config → a sink. */
export type SinkFactory = (options: Record<string, unknown>, ctx: SinkContext) => Promise<Sink> | Sink;

/** Identity, for type inference in a sink module: `export default defineSink((options, ctx) => ({ … }))`. */
export function defineSink(factory: SinkFactory): SinkFactory {
  return factory;
}
