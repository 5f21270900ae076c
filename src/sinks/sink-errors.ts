import { PermanentError } from '../errors';

/** The sink's table or config does not fit the source (missing key, missing column, missing type). */
export class SinkSetupError extends PermanentError {
  override readonly name = 'SinkSetupError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface ColumnChange {
  column: string;
  change: 'added' | 'dropped' | 'retyped';
  /** The source type last seen (dropped, retyped). */
  was?: string;
  /** The source type now (added, retyped). */
  now?: string;
}

/**
 * The source's columns changed in a way the target does not follow on its own: a new column with
 * `schemaChanges: fail`, or a dropped or retyped column (always). Each change says how to resolve it.
 */
export class SchemaDriftError extends PermanentError {
  override readonly name = 'SchemaDriftError';
  constructor(
    readonly table: string,
    readonly changes: readonly ColumnChange[],
    fixes: readonly string[],
  ) {
    super(`target ${table} does not follow the source's columns: ${changes.map(describeChange).join('; ')}. ${fixes.join(' ')}`);
  }
}

function describeChange(c: ColumnChange): string {
  if (c.change === 'added') return `source column "${c.column}" (${c.now}) is not in the target`;
  if (c.change === 'dropped') return `source column "${c.column}" (${c.was}) was dropped since the last run`;
  return `source column "${c.column}" changed type from ${c.was} to ${c.now} since the last run`;
}
