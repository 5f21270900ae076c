import type { Cursor, JsonValue } from '../cursor/cursor';
import { moveSyncCheckpoint, readCheckpoint } from './state';
import { withStateSession } from './state-session';

export interface CheckpointMoveOptions {
  applicationName: string;
  /** The error to throw when a run holds the integration's lock (moving now would race its next page). */
  busy: () => Error;
  /** false: only read where the checkpoint is (a dry run). */
  apply: boolean;
  /** What `cursor` is a position of (cursorIdentity of the integration's source): saved with it. */
  cursorOf?: JsonValue;
}

/**
 * The one checkpoint move, shared by `tidemark checkpoint set|reset` and the UI's rewind: under the
 * integration's lock (refused while a run holds it), read the sync checkpoint and move it to `cursor`.
 * Returns where it was; the callers word the outcome.
 */
export async function moveCheckpoint(stateUrl: string, integration: string, cursor: Cursor, opts: CheckpointMoveOptions): Promise<{ before: Cursor }> {
  const lock = { integration, busy: opts.busy };
  return withStateSession(stateUrl, { applicationName: opts.applicationName, lock }, async (db) => {
    const before = (await readCheckpoint(db, integration, 'sync'))?.cursor ?? null;
    if (opts.apply) await moveSyncCheckpoint(db, integration, cursor, opts.cursorOf ?? null);
    return { before };
  });
}

/** How a cursor reads in messages. */
export const showCursor = (c: Cursor): string => (c === null ? 'the beginning' : JSON.stringify(c));
