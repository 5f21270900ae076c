import { log, type Context } from '@temporalio/activity';
import type pg from 'pg';
import * as state from '../db/state';
import { releaseTemplateSlot, tryTemplateSlot, type TemplateSlots } from '../instances/template-slots';
import type { RunInput } from './types';

const LOCK_POLL_MS = 1_000;

/** What a run holds while it writes; `release` gives it back (the connection closing does too). */
export interface RunLock {
  release(): Promise<void>;
}

/** No lock: why this (sync) run gives way. */
export interface Busy {
  busy: string;
}

/** Whose attempts a lock holder is: the run, or one shard of it (told apart from its siblings). */
function attemptKey(input: RunInput): string {
  return input.shard === undefined ? input.runKey : `${input.runKey}#${input.shard}`;
}

/** application_name of a run's state connection (see state.lockTag). */
export function runLockTag(input: RunInput, attempt: number): string {
  return state.lockTag(attemptKey(input), attempt);
}

/** application_name of a run's PostgreSQL source connection: its lock tag, marked (status tells a blocked read from a blocked write). */
export function sourceAppName(input: RunInput, attempt: number): string {
  return `${runLockTag(input, attempt)}:source`;
}

/**
 * One writer per integration, and for an instance of a template with maxConcurrentRuns, one of the template's
 * slots (a backfill waits for one, heartbeating; a sync gives way like for the integration lock). Sync runs give way quickly (the next scheduled run will catch up);
 * backfills, resumes and shards wait, heartbeating, because the holder may be a hung previous attempt
 * whose connection is about to die. Shards of one backfill share the integration lock and each holds
 * its own slot's lock, so two attempts of one shard never write at once.
 */
export async function acquireRunLock(ctx: Context, db: pg.Client, input: RunInput, syncWaitMs: number, slots?: TemplateSlots): Promise<RunLock | Busy> {
  const lock = await lockIntegration(ctx, db, input, syncWaitMs);
  if (!lock) return { busy: 'another run of this integration was writing' };
  if (!slots) return lock;
  // maxConcurrentRuns of the template: taken after the integration lock, so a run that would give way anyway holds no slot.
  let slot: string | undefined;
  const deadline = input.mode === 'sync' ? Date.now() + syncWaitMs : Infinity;
  const ok = await waitFor(ctx, db, input, undefined, async () => (slot = await tryTemplateSlot(db, slots)) !== undefined, deadline);
  if (!ok) {
    await lock.release();
    log.warn('template at its maxConcurrentRuns: this sync run is skipped', { integration: input.integration, max: slots.max });
    return { busy: `template ${slots.template} was at its maxConcurrentRuns (${slots.max}): runs of other instances were writing` };
  }
  return {
    release: async () => {
      await releaseTemplateSlot(db, slot as string);
      await lock.release();
    },
  };
}

async function lockIntegration(ctx: Context, db: pg.Client, input: RunInput, syncWaitMs: number): Promise<RunLock | undefined> {
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
