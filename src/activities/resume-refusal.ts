import type pg from 'pg';
import { stateDbUrlOf, type SinkConfig } from '../config/sink-schema';
import { latestBackfillRun, listShardSlots, readCheckpoint, readRun, type CheckpointRow, type RunRow, type ShardSlot } from '../db/state';
import { withStateSession } from '../db/state-session';

/** What a resume would continue: the last sharded backfill's slots (and the run that owns them), else the unsharded slot. */
export interface ResumeFound {
  shards: ShardSlot[];
  shardsRun?: RunRow | undefined;
  backfill?: CheckpointRow | undefined;
  /** The latest backfill run: one that failed before its slots were made leaves older slots behind. */
  latest?: RunRow | undefined;
}

/**
 * Why `resume` has nothing to continue, or undefined when it has. One rule for the CLI (which refuses before it
 * starts a workflow, when it can reach the state database) and the workflow's activities (the plan for sharded
 * backfills, the start position for the unsharded slot), so the two never disagree.
 */
export function resumeRefusal(integration: string, found: ResumeFound): string | undefined {
  const again = `start a new one with \`tidemark backfill ${integration}\``;
  // A backfill that failed before it read a row (its plan: the source down for good) made no slots to continue; the
  // slots there are an older backfill's (an acceptance run: "already completed" beside a failed run).
  // Only when it began after the slots' holder claimed them (a backfill that failed before a resume took its slot
  // over is not it: the review). Times are PostgreSQL's text in one format (UTC), which compares in order.
  const owner = found.shards[0]?.owner ?? found.backfill?.owner;
  const claimed = found.shards.length ? found.shardsRun?.started_at : found.backfill?.updatedAt;
  const latest = found.latest;
  if (latest && latest.status === 'failed' && latest.run_id !== owner && Number(latest.rows_committed) === 0 && claimed !== undefined && latest.started_at > claimed) {
    return `the last backfill of "${integration}" (${latest.started_at}) failed before it read a row${latest.error ? ` (${latest.error.split('\n')[0]})` : ''}: it left nothing to resume; ${again}`;
  }
  if (found.shards.length) {
    // All slots done but the run not completed (it stopped before its finish step): the resume finishes it.
    const run = found.shardsRun;
    return found.shards.every((s) => s.status === 'done') && run?.status === 'completed' ? `the last backfill of "${integration}" already completed (${run.finished_at}); ${again}` : undefined;
  }
  if (!found.backfill) return `no backfill of "${integration}" to resume: ${again.replace('a new one', 'one')}`;
  if (found.backfill.status === 'done') return `the last backfill of "${integration}" already completed (${found.backfill.updatedAt}); ${again}`;
  return undefined;
}

/** Reads what a resume would continue from the state database (migrated). */
export async function readResumeFound(db: pg.Client, integration: string): Promise<ResumeFound> {
  const shards = await listShardSlots(db, integration);
  const latest = await latestBackfillRun(db, integration);
  if (shards.length) {
    const owner = shards[0]?.owner;
    return { shards, shardsRun: owner ? await readRun(db, owner) : undefined, latest };
  }
  return { shards, backfill: await readCheckpoint(db, integration, 'backfill'), latest };
}

/**
 * The refusal as the CLI and the operator's page give it before a workflow starts: when the state database is
 * reachable from here (its URL's variables set in `env`, the server answering within 5 s); else undefined, and the
 * workflow's plan decides by the same rule.
 */
export async function resumeRefusalIfReachable(it: { id: string; sink: SinkConfig }, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let url: string;
  try {
    url = stateDbUrlOf(it, env);
  } catch {
    return undefined; // e.g. ${DATABASE_URL} set only in the worker's environment
  }
  return withStateSession(url, { applicationName: 'tidemark-cli', connectTimeoutMs: 5_000 }, async (db) => resumeRefusal(it.id, await readResumeFound(db, it.id))).catch(() => undefined);
}
