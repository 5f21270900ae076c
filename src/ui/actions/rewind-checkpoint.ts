import type { Integration } from '../../config';
import type { Cursor } from '../../cursor/cursor';
import { closeQuietly, connect } from '../../db/connect';
import { migrate } from '../../db/migrate';
import { moveSyncCheckpoint, readCheckpoint, tryLockIntegration, unlockIntegration } from '../../db/state';
import { resolveEnvRefs } from '../../config/env-refs';
import { createSource } from '../../sources/create-source';
import { ActionRefusedError } from './action-error';

const show = (c: Cursor) => (c === null ? 'the beginning' : JSON.stringify(c));

/**
 * What `tidemark checkpoint set|reset <id> --yes` does (src/cli/checkpoint-command.ts): the cursor is
 * checked against the integration's own source, then the sync checkpoint moves under the integration's
 * lock, refused while a run holds it. An empty cursor means the beginning (`reset`).
 */
export async function rewindCheckpoint(it: Integration, raw: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const text = raw?.trim() ?? '';
  const cursor = text === '' ? null : await checkCursor(it, text, env);
  const db = await connect(resolveEnvRefs(it.sink.url, `integrations[${it.id}].sink.url`, env), { applicationName: 'tidemark-ui' });
  try {
    await migrate(db);
    if (!(await tryLockIntegration(db, it.id))) {
      throw new ActionRefusedError('rewind', it.id, 'a run of this integration is writing (it holds the integration lock): cancel it first, then move the checkpoint', 409);
    }
    try {
      const before = (await readCheckpoint(db, it.id, 'sync'))?.cursor ?? null;
      await moveSyncCheckpoint(db, it.id, cursor);
      return `moved the sync checkpoint from ${show(before)} to ${show(cursor)}: the next sync reads ${cursor === null ? 'from the beginning' : `rows after ${show(cursor)}`}`;
    } finally {
      await unlockIntegration(db, it.id);
    }
  } finally {
    await closeQuietly(db);
  }
}

async function checkCursor(it: Integration, raw: string, env: NodeJS.ProcessEnv): Promise<Cursor> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new ActionRefusedError('rewind', it.id, `cursor ${raw} is not valid JSON (${(err as Error).message}); give it as the checkpoint table shows it, e.g. ["2024-05-01 00:00:00+00","42"]`);
  }
  const source = await createSource(it.source, it.id, env);
  try {
    await source.prepare({});
    const cursor = source.parseCursor(value);
    await source.later(cursor, cursor); // rejects values the cursor columns' types cannot hold
    return cursor;
  } catch (err) {
    if (err instanceof ActionRefusedError) throw err;
    throw new ActionRefusedError('rewind', it.id, `cursor ${raw}: ${(err as Error).message}`);
  } finally {
    await source.close();
  }
}
