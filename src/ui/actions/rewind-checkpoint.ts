import type { Integration } from '../../config';
import type { Cursor } from '../../cursor/cursor';
import { moveCheckpoint, showCursor as show } from '../../db/move-checkpoint';
import { stateDbUrlOf } from '../../config/sink-schema';
import { checkCursorWithSource } from '../../sources/create-source';
import { cursorIdentity } from '../../sources/cursor-shape';
import { ActionRefusedError } from './action-error';

/**
 * What `tidemark checkpoint set|reset <id> --yes` does (src/cli/checkpoint-command.ts, the same
 * db/move-checkpoint): the cursor is checked against the integration's own source, then the sync
 * checkpoint moves under the integration's lock, refused while a run holds it. An empty cursor means
 * the beginning (`reset`).
 */
export async function rewindCheckpoint(it: Integration, raw: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const text = raw?.trim() ?? '';
  const cursor = text === '' ? null : await checkCursor(it, text, env);
  const busy = () => new ActionRefusedError('rewind', it.id, 'a run of this integration is writing (it holds the integration lock): cancel it first, then move the checkpoint', 409);
  const url = stateDbUrlOf(it, env);
  const { before } = await moveCheckpoint(url, it.id, cursor, { applicationName: 'tidemark-ui', busy, apply: true, cursorOf: cursorIdentity(it.source) });
  return `moved the sync checkpoint from ${show(before)} to ${show(cursor)}: the next sync reads ${cursor === null ? 'from the beginning' : `rows after ${show(cursor)}`}`;
}

async function checkCursor(it: Integration, raw: string, env: NodeJS.ProcessEnv): Promise<Cursor> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new ActionRefusedError('rewind', it.id, `cursor ${raw} is not valid JSON (${(err as Error).message}); give it as the checkpoint table shows it, e.g. ["2024-05-01 00:00:00+00","42"]`);
  }
  return checkCursorWithSource(it.source, it.id, value, env, (err) => (err instanceof ActionRefusedError ? err : new ActionRefusedError('rewind', it.id, `cursor ${raw}: ${err.message}`)));
}
