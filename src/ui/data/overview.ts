import type { Client } from '@temporalio/client';
import type { Config, Integration } from '../../config';
import { MAIN_CHECKPOINTS, type MainCheckpointRow } from '../sql/main-checkpoints';
import { PENDING_DEAD_LETTERS, type PendingDeadLettersRow } from '../sql/pending-dead-letters';
import { RUN_SUMMARIES, type RunSummaryRow } from '../sql/run-summaries';
import { groupByDb, type StateDbs } from './state-dbs';
import { temporalView, type RunningWorkflow, type ScheduleState } from './temporal-view';

export type RowState = 'running' | 'failing' | 'paused' | 'lagging' | 'ok' | 'new' | 'unavailable';

/**
 * One row of the overview. Today one per configured integration; instances of template integrations
 * (issue 14) are meant to become more rows here, with `template` set.
 */
export interface OverviewRow {
  id: string;
  /** The template an instance comes from (none yet: integrations only). */
  template?: string;
  sourceKind: string;
  state: RowState;
  lastRun?: { kind: string; status: string; startedAt: string; finishedAt: string | null; rows: number; error: string | null };
  lastSuccess: string | null;
  /** Seconds behind the source: now minus the sync checkpoint's time cursor (when its first column is a time). */
  lagSeconds?: number;
  failures: number;
  deadLetters: number;
  schedule?: ScheduleState;
  running: RunningWorkflow[];
  /** rows committed by the running run so far and its average rate (the live bar refines it from Temporal). */
  runningRows?: number;
  runningRate?: number;
  problem?: string;
}

export interface Overview {
  rows: OverviewRow[];
  temporalError?: string;
}

/** A cursor's first value as a time, when it is one (timestamps, ISO dates); else undefined. */
function cursorTime(cursorJson: string | null): number | undefined {
  if (!cursorJson) return undefined;
  let first: unknown;
  try {
    const c = JSON.parse(cursorJson) as unknown;
    first = Array.isArray(c) ? c[0] : c;
  } catch {
    return undefined;
  }
  if (typeof first !== 'string' || !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(first)) return undefined;
  const t = Date.parse(first.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
  return Number.isFinite(t) ? t : undefined;
}

/** Behind by more than three schedule periods (or an hour without a schedule): lagging. */
export function lagLimitSeconds(it: Integration): number {
  const every = it.schedule && 'every' in it.schedule ? Number(it.schedule.every) / 1000 : undefined;
  return every ? Math.max(60, 3 * every) : 3600;
}

/**
 * Everything the overview shows, for all integrations: per state database three statements (run
 * summaries, main checkpoints, pending dead letters), plus two Temporal listings; never one per row.
 */
export async function loadOverview(config: Config, dbs: StateDbs, temporal: Client | undefined, now = Date.now()): Promise<Overview> {
  const its = config.integrations;
  const { groups, unreachable } = groupByDb(dbs, its);
  const summaries = new Map<string, RunSummaryRow>();
  const checkpoints = new Map<string, MainCheckpointRow>();
  const letters = new Map<string, number>();
  const problems = new Map<string, string>(unreachable);
  const [tv] = await Promise.all([
    temporalView(temporal, new Set(its.map((i) => i.id))),
    ...[...groups].map(async ([url, members]) => {
      const ids = members.map((m) => m.id);
      try {
        // One after the other: they share the database's one connection.
        const s = await dbs.query<RunSummaryRow>(url, RUN_SUMMARIES, [ids]);
        const c = await dbs.query<MainCheckpointRow>(url, MAIN_CHECKPOINTS, [ids]);
        const d = await dbs.query<PendingDeadLettersRow>(url, PENDING_DEAD_LETTERS, [ids]);
        for (const r of s) summaries.set(r.integration, r);
        for (const r of c) if (r.slot === 'sync') checkpoints.set(r.integration, r);
        for (const r of d) letters.set(r.integration, Number(r.n));
      } catch (err) {
        for (const id of ids) problems.set(id, `state database: ${(err as Error).message}`);
      }
    }),
  ]);
  const rows = its.map((it): OverviewRow => {
    const s = summaries.get(it.id);
    const t = cursorTime(checkpoints.get(it.id)?.cursor ?? null);
    const running = tv.running.get(it.id) ?? [];
    const dbRunning = s?.status === 'running';
    const row: OverviewRow = {
      id: it.id,
      sourceKind: it.source.kind,
      state: 'ok',
      lastSuccess: s?.last_success ?? null,
      failures: Number(s?.failures ?? 0),
      deadLetters: letters.get(it.id) ?? 0,
      running,
      ...(t !== undefined ? { lagSeconds: Math.max(0, (now - t) / 1000) } : {}),
      ...(tv.schedules.get(it.id) ? { schedule: tv.schedules.get(it.id) } : {}),
      ...(problems.get(it.id) ? { problem: problems.get(it.id) } : {}),
    };
    if (s?.run_id) {
      row.lastRun = { kind: s.kind as string, status: s.status as string, startedAt: s.started_at as string, finishedAt: s.finished_at, rows: Number(s.rows_committed), error: s.error };
      if (dbRunning) {
        row.runningRows = Number(s.rows_committed);
        const secs = (now - Date.parse(String(s.started_at).replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'))) / 1000;
        row.runningRate = secs > 0 ? row.runningRows / secs : undefined;
      }
    }
    // Temporal is the judge of "running" when it answered; the runs table otherwise (it can hold a crashed run's row).
    const isRunning = tv.error ? dbRunning : running.length > 0;
    row.state = row.problem
      ? 'unavailable'
      : isRunning
        ? 'running'
        : row.lastRun?.status === 'failed'
          ? 'failing'
          : row.schedule?.paused
            ? 'paused'
            : !row.lastRun
              ? 'new'
              : row.lagSeconds !== undefined && row.lagSeconds > lagLimitSeconds(it)
                ? 'lagging'
                : 'ok';
    return row;
  });
  return { rows, ...(tv.error ? { temporalError: tv.error } : {}) };
}
