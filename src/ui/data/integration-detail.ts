import type { Client } from '@temporalio/client';
import type { Integration } from '../../config';
import { listCheckpoints, listRuns, listShardSlots, type CheckpointSlotView, type RunRow, type ShardSlot } from '../../db/state';
import { describeIfExists, scheduleIdFor } from '../../schedules';
import { PENDING_DEAD_LETTERS, type PendingDeadLettersRow } from '../sql/pending-dead-letters';
import type { StateDbs } from './state-dbs';
import type { ScheduleState } from './temporal-view';

export interface IntegrationDetail {
  checkpoints: CheckpointSlotView[];
  shards: ShardSlot[];
  runs: RunRow[];
  deadLetters: number;
  schedule?: ScheduleState;
  problem?: string;
}

export const RUN_HISTORY = 100;

/** One integration's page: four statements on its state database and one schedule description. */
export async function loadIntegrationDetail(it: Integration, dbs: StateDbs, temporal: Client | undefined): Promise<IntegrationDetail> {
  const detail: IntegrationDetail = { checkpoints: [], shards: [], runs: [], deadLetters: 0 };
  const schedule = temporal
    ? describeIfExists(temporal.schedule.getHandle(scheduleIdFor(it.id))).catch(() => undefined)
    : Promise.resolve(undefined);
  try {
    const url = dbs.urlOf(it);
    const [checkpoints, shards, runs, letters] = await dbs.use(
      url,
      async (client) => [
        await listCheckpoints(client, it.id),
        await listShardSlots(client, it.id),
        await listRuns(client, it.id, RUN_HISTORY),
        (await client.query<PendingDeadLettersRow>(PENDING_DEAD_LETTERS, [[it.id]])).rows,
      ] as const,
      4,
    );
    Object.assign(detail, { checkpoints, shards, runs, deadLetters: Number(letters[0]?.n ?? 0) });
  } catch (err) {
    detail.problem = `state database: ${(err as Error).message}`;
  }
  const d = await schedule;
  if (d) detail.schedule = { paused: d.state.paused, ...(d.state.note ? { note: d.state.note } : {}), ...(d.info.nextActionTimes[0] ? { nextRun: d.info.nextActionTimes[0].toISOString() } : {}) };
  return detail;
}
