// The public API of the tidemark package (re-exports only). Dev tooling (the mock API, the demo, the
// local stack) is not part of it: the CLI loads it for `tidemark mock-api`, `demo` and `dev` only.
export { createActivities, type Activities, type Progress, type RunInput, type RunResult } from './activities';
export { connectClient, startIntegrationRun, workflowIdFor, IntegrationBusyError } from './client';
export { getIntegration, ConfigError, type Config, type Integration, type Template } from './config';
export {
  addInstance,
  removeInstance,
  pauseInstance,
  resumeInstance,
  listInstances,
  setInstanceWeight,
  resolveIntegration,
  type AddInstanceOptions,
  type AddInstanceResult,
  type InstanceOptions,
  type InstanceSecretInput,
  type InstanceView,
  type SetWeightResult,
} from './instances';
export { loadConfig, parseConfig } from './load-config';
export { defineMapping } from './transform/define-mapping';
export type { MappingDefinition, MappingFunction, MappingInput, MappingOutput } from './transform/define-mapping';
export type { Cursor, JsonValue } from './cursor/cursor';
export type { ColumnSpec, CopyPage, EncodedPage, Page, PrepareOptions, ReadOptions, Source, SourcePlan } from './sources/source';
export { PermanentError } from './errors';
export { createWorker, workflowsPath, type CreateWorkerOptions } from './worker';
export { defineSource, type SimpleSource, type SourceContext, type SourceFactory } from './sources/define-source';
export { registerSource } from './sources/registry';
export { defineSink, type CustomSink, type SinkContext, type SinkFactory } from './sinks/define-sink';
export { registerSink } from './sinks/registry';
export type { Sink, SinkPage, SinkWriteContext, SinkWriteResult } from './sinks/sink';
export type { SinkConfig, HttpSinkConfig, PostgresSinkConfig, CustomSinkConfig } from './config';
