/** A source record as a mapping module sees it: field → JSON value (numbers, booleans, parsed JSON). */
export type MappingInput = Record<string, unknown>;
/** What a mapping function returns per record: one target row, several, or null to skip the record. */
export type MappingOutput = Record<string, unknown> | Array<Record<string, unknown>> | null | undefined;
export type MappingFunction = (record: MappingInput) => MappingOutput | Promise<MappingOutput>;

export interface MappingDefinition {
  /** Target columns and their PostgreSQL types (used when tidemark creates the table); default: the source's columns. */
  columns?: Record<string, string>;
  map: MappingFunction;
}

/**
 * For `mapping: { module: ./map.ts }`: `export default defineMapping({ columns: { id: 'bigint', name: 'text' }, map: (r) => ({ … }) })`,
 * or a plain function as the default export. A thrown error sends that record to dead letters.
 */
export function defineMapping(definition: MappingDefinition): MappingDefinition;
export function defineMapping(map: MappingFunction): MappingFunction;
export function defineMapping(definition: MappingDefinition | MappingFunction): MappingDefinition | MappingFunction {
  return definition;
}
