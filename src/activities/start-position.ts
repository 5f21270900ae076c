import type pg from 'pg';
import { checkCursorOf, storedCursor } from './stored-cursor';
import { asFromError, type Cursor, type JsonValue } from '../cursor/cursor';
import { claimCheckpoint, deleteBackfillSlots, LostOwnershipError, readCheckpoint, shardSlot, type CheckpointRow } from '../db/state';
import { PermanentError } from '../errors';
import type { PrepareOptions, Source, SourcePlan } from '../sources/source';
import type { RunInput } from './types';
import { resumeRefusal } from './resume-refusal';

export class NothingToResumeError extends PermanentError {
  override readonly name = 'NothingToResumeError';
}

export interface StartPosition {
  slot: string;
  cursor: Cursor;
  plan: SourcePlan;
  /** rows already committed by earlier attempts of this run (its result counts them) */
  runRowsBefore: number;
  /** rows already in the slot: for a resume, what the backfill it continues had done (progress counts them) */
  slotRowsBefore: number;
  /** a shard's inclusive upper end, else null */
  until: Cursor;
  /** for the run's warnings: e.g. the previous run's result disagreed with the checkpoint */
  warnings: string[];
}

export interface StartOptions {
  signal?: AbortSignal | undefined;
  onWritersWait?: PrepareOptions['onWritersWait'];
  /** What the source's cursor is a position of (cursorIdentity): a slot saved for another is refused, and claims save it. */
  cursorOf?: JsonValue;
}

/**
 * Where a run starts, and the claim of its checkpoint slot:
 * - sync: the 'sync' checkpoint, with a fresh high-water mark (see syncStart: the previous run's result
 *   only cross-checks it, so an operator who moves the checkpoint back is not undone);
 * - backfill: `from` (or the start) with a fresh high-water mark, unless this very run owns the slot
 *   already (a retried attempt), which continues from the slot's cursor and keeps its high-water mark;
 * - resume: the existing 'backfill' slot, its cursor and high-water mark, taken over by this run.
 * - shard: the slot planBackfill made (or a resume took over) for this run, its cursor, range and high-water mark.
 * In every case the newer heartbeat cursor of a previous attempt wins over an older checkpoint.
 */
export async function startPosition(state: pg.Client, source: Source, input: RunInput, heartbeatCursor: Cursor | undefined, opts: StartOptions = {}): Promise<StartPosition> {
  const { signal, onWritersWait, cursorOf = null } = opts;
  if (input.shard !== undefined) return shardPosition(state, source, input, heartbeatCursor, cursorOf);
  const slot = input.mode === 'sync' ? 'sync' : 'backfill';
  const cp = await readCheckpoint(state, input.integration, slot);
  const own = cp?.owner === input.runKey;
  // A slot this run reads from (not a new backfill's, which starts afresh) must be of the cursor configured now.
  if (input.mode !== 'backfill' || own) checkCursorOf(cp, cursorOf, input.integration, slot);
  let plan: SourcePlan;
  let cursor: Cursor;
  const warnings: string[] = [];
  if (input.mode === 'sync') {
    plan = await source.prepare({ newRange: true, ...(signal ? { signal } : {}), ...(onWritersWait ? { onWritersWait } : {}) });
    cursor = syncStart(source, input, cp, warnings, own);
  } else if (input.mode === 'backfill' && !own) {
    plan = await source.prepare({ newRange: true, ...(signal ? { signal } : {}), ...(onWritersWait ? { onWritersWait } : {}) });
    // `from` comes from outside (CLI, UI): check its shape and its values in the source's own types
    // (later() compares in them) before anything is written. Found by chaos bad-input: a bad `from`
    // used to delete an earlier sharded backfill's slots, and bad values used to claim the slot,
    // start a run and create the target before the first query failed.
    try {
      cursor = source.parseCursor(input.from ?? null);
      await source.later(cursor, cursor);
    } catch (err) {
      throw asFromError(err);
    }
    // A new unsharded backfill supersedes an earlier sharded one: `resume` must find this one.
    await deleteBackfillSlots(state, input.integration, 'shards');
  } else {
    // (A retried attempt of this resume owns the slot: it continues even when the slot is done.)
    const refusal = own ? undefined : resumeRefusal(input.integration, { shards: [], backfill: cp });
    if (refusal || !cp) throw new NothingToResumeError(refusal ?? `no backfill of "${input.integration}" to resume`);
    plan = await source.prepare({ highWater: cp.highWater });
    cursor = storedCursor(source, cp.cursor, input.integration, slot);
  }
  if (own && cp) cursor = await source.later(cursor, storedCursor(source, cp.cursor, input.integration, slot));
  if (heartbeatCursor !== undefined) cursor = await source.later(cursor, storedCursor(source, heartbeatCursor, input.integration, slot));
  // A new run restarts the slot's counters; a retried attempt or a resume keeps them.
  const reset = !own && input.mode !== 'resume';
  await claimCheckpoint(state, { integration: input.integration, slot, owner: input.runKey, cursor, highWater: plan.highWater, reset, cursorOf });
  const kept = cp && (own || input.mode === 'resume') ? cp.rowsDone : 0;
  return { slot, cursor, plan, runRowsBefore: own ? kept : 0, slotRowsBefore: kept, until: null, warnings };
}

async function shardPosition(state: pg.Client, source: Source, input: RunInput, heartbeatCursor: Cursor | undefined, cursorOf: JsonValue): Promise<StartPosition> {
  const slot = shardSlot(input.shard as number);
  const cp = await readCheckpoint(state, input.integration, slot);
  // planBackfill (or a resume) claimed every shard for this run; anything else means a newer run took over.
  if (!cp || cp.owner !== input.runKey) throw new LostOwnershipError(input.integration, slot, input.runKey);
  checkCursorOf(cp, cursorOf, input.integration, slot);
  const plan = await source.prepare({ highWater: cp.highWater });
  let cursor = storedCursor(source, cp.cursor, input.integration, slot);
  const until = storedCursor(source, cp.untilCursor, input.integration, slot);
  if (heartbeatCursor !== undefined) {
    const beat = storedCursor(source, heartbeatCursor, input.integration, slot);
    // The slot may have taken part of another shard's range since that heartbeat (steal-work.ts): a heartbeat
    // of its earlier range lies outside the current one, and must not move the cursor past what is left to read.
    if (await within(source, beat, storedCursor(source, cp.startCursor, input.integration, slot), until)) cursor = await source.later(cursor, beat);
  }
  return { slot, cursor, plan, runRowsBefore: cp.rowsDone, slotRowsBefore: cp.rowsDone, until, warnings: [] };
}

/** Whether `c` lies in [start, until] (until null: no upper end), in the source's order. */
async function within(source: Source, c: Cursor, start: Cursor, until: Cursor): Promise<boolean> {
  const same = (a: Cursor, b: Cursor) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(await source.later(c, start), c)) return false;
  return until === null || same(await source.later(c, until), until);
}

/**
 * The checkpoint is the one truth for where a sync starts. The previous run's result (`after`, from
 * lastResult) is used only when there is no checkpoint row at all (first runs after an upgrade, or a
 * state database that lost it); otherwise a difference is reported, not acted on, unless this run's own earlier
 * attempt made it.
 */
function syncStart(source: Source, input: RunInput, cp: CheckpointRow | undefined, warnings: string[], own: boolean): Cursor {
  const hasAfter = input.after !== undefined && input.after !== null;
  if (!cp) return source.parseCursor(hasAfter ? input.after : null);
  const cursor = storedCursor(source, cp.cursor, input.integration, 'sync');
  if (!hasAfter) return cursor;
  let after: Cursor;
  try {
    after = source.parseCursor(input.after);
  } catch (err) {
    warnings.push(`the previous run's result cursor ${JSON.stringify(input.after)} is not valid for this source (${(err as Error).message}); started from the checkpoint ${JSON.stringify(cursor)}`);
    return cursor;
  }
  // `own`: this run's earlier attempt moved it (a retry after a crash or a shutdown), which is no news (acceptance run).
  if (!own && JSON.stringify(after) !== JSON.stringify(cursor)) {
    warnings.push(
      `the previous run ended at ${JSON.stringify(after)} but the sync checkpoint is at ${JSON.stringify(cursor)} (moved by \`tidemark checkpoint\` or by another run); started from the checkpoint`,
    );
  }
  return cursor;
}
