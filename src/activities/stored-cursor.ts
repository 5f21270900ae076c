import { InvalidCursorError, type Cursor } from '../cursor/cursor';
import { PermanentError } from '../errors';
import type { Source } from '../sources/source';

/**
 * A cursor tidemark stored itself (a checkpoint slot) that the source no longer accepts: source.cursor (or the
 * source) changed since it was saved. Not bad input (the run's row records it, `status --all` shows it failing),
 * and the message says how to go on, which the bare "invalid cursor" did not (an acceptance run).
 */
export class StoredCursorMismatchError extends PermanentError {
  override readonly name = 'StoredCursorMismatchError';
  constructor(
    readonly integration: string,
    readonly slot: string,
    readonly cursor: unknown,
    readonly expected: string,
  ) {
    const fix =
      slot === 'sync'
        ? `\`tidemark checkpoint reset ${integration} --yes\` makes the next sync start from the beginning; \`tidemark checkpoint set ${integration} '<cursor>' --yes\` starts it at a cursor of the new shape`
        : `start a new backfill: \`tidemark backfill ${integration}\` (\`--from '<cursor>'\` to start at a cursor of the new shape)`;
    super(`the ${slot} checkpoint holds cursor ${JSON.stringify(cursor)}, which does not fit source.cursor now (expected ${expected}): the cursor or the source changed since it was saved. ${fix}`);
  }
}

/** `source.parseCursor` of a cursor read from checkpoint slot `slot`. */
export function storedCursor(source: Source, value: unknown, integration: string, slot: string): Cursor {
  try {
    return source.parseCursor(value);
  } catch (err) {
    if (err instanceof InvalidCursorError) throw new StoredCursorMismatchError(integration, slot, value, err.expected);
    throw err;
  }
}
