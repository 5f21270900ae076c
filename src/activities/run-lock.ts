import { log, type Context } from '@temporalio/activity';
import type pg from 'pg';
import * as state from '../db/state';
import type { RunInput } from './types';

const LOCK_POLL_MS = 1_000;

/** What a run holds while it writes; `release` gives it back (the connection closing does too). */
export interface RunLock {
  release(): Promise<void>;
}

/** Whose attempts a lock holder is: the run, or one shard of it (told apart from its siblings). */
function attemptKey(input: RunInput): string {
  return input.shard === undefined ? input.runKey : `${input.runKey}#${input.shard}`;
}

/** application_name of a run's state connection (see state.lockTag). */
export function runLockTag(input: RunInput, attempt: number): string {
  return state.lockTag(attemptKey(input), attempt);
}

/**
 * One writer per integration. Sync runs give way quickly (the next scheduled run will catch up);
 * backfills, resumes and shards wait, heartbeating, because the holder may be a hung previous attempt
 * whose connection is about to die. Shards of one backfill share the integration lock and each holds
 * its own slot's lock, so two attempts of one shard never write at once.
 */
export async function acquireRunLock(ctx: Context, db: pg.Client, input: RunInput, syncWaitMs: number): Promise<RunLock | undefined> {
  const id = input.integration;
  if (input.shard === undefined) {
    const ok = await waitFor(ctx, db, input, id, () => state.tryLockIntegration(db, id), input.mode === 'sync' ? Date.now() + syncWaitMs : Infinity);
    return ok ? { release: () => state.unlockIntegration(db, id) } : undefined;
  }
  // A sync or an unsharded run of the same integration holds the lock exclusively: wait for it.
  await waitFor(ctx, db, input, undefined, () => state.tryLockIntegration(db, id, true), Infinity);
  const slotLock = state.slotLockName(id, state.shardSlot(input.shard));
  await waitFor(ctx, db, input, slotLock, () => state.tryLockIntegration(db, slotLock), Infinity);
  return {
    release: async () => {
      await state.unlockIntegration(db, slotLock);
      await state.unlockIntegration(db, id, true);
    },
  };
}

async function waitFor(ctx: Context, db: pg.Client, input: RunInput, evictable: string | undefined, attempt: () => Promise<boolean>, deadline: number): Promise<boolean> {
  for (;;) {
    if (await attempt()) return true;
    if (evictable && (await state.evictStaleAttempt(db, evictable, attemptKey(input), ctx.info.attempt))) {
      log.warn('took over from a hung earlier attempt of this run', { integration: input.integration, shard: input.shard });
      continue;
    }
    if (Date.now() >= deadline) return false;
    ctx.heartbeat(ctx.info.heartbeatDetails);
    await ctx.sleep(LOCK_POLL_MS);
  }
}
