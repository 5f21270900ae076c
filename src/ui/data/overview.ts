import type { Client } from '@temporalio/client';
import type { Config, Integration, ScheduleConfig } from '../../config';
import { cursorZoneOf, lagTime } from '../../cursor/lag-time';
import { MAIN_CHECKPOINTS, type MainCheckpointRow } from '../sql/main-checkpoints';
import { PENDING_DEAD_LETTERS, type PendingDeadLettersRow } from '../sql/pending-dead-letters';
import { RUN_SUMMARIES, type RunSummaryRow } from '../sql/run-summaries';
import { loadInstanceMembers, templatesByDb, type InstanceMember } from './instance-members';
import { groupByDb, type StateDbs } from './state-dbs';
import { temporalView, type RunningWorkflow, type ScheduleState } from './temporal-view';

export type RowState = 'running' | 'failing' | 'needs_reauth' | 'paused' | 'lagging' | 'ok' | 'new' | 'unavailable';

/** One row of the overview: a configured integration, or an instance of a template (`template` set). */
export interface OverviewRow {
  id: string;
  /** The template an instance comes from. */
  template?: string;
  /** An instance's own status when not active (paused, needs_reauth) and why. */
  instanceStatus?: string;
  reason?: string;
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


/** An integration's or instance's state, one rule for the overview and its own page (they once disagreed on lag). */
export function stateOf(s: {
  problem?: string | undefined;
  instanceStatus?: string | undefined;
  running: boolean;
  lastRunStatus?: string | undefined;
  schedulePaused?: boolean | undefined;
  lagSeconds?: number | undefined;
  lagLimitSeconds: number;
}): RowState {
  if (s.problem) return 'unavailable';
  if (s.instanceStatus === 'needs_reauth') return 'needs_reauth';
  if (s.running) return 'running';
  if (s.instanceStatus && s.instanceStatus !== 'active') return 'paused';
  if (s.lastRunStatus === 'failed') return 'failing';
  if (s.schedulePaused) return 'paused';
  if (!s.lastRunStatus) return 'new';
  return s.lagSeconds !== undefined && s.lagSeconds > s.lagLimitSeconds ? 'lagging' : 'ok';
}

/** How far the sync checkpoint is behind now, in seconds (see lagTime; undefined: not a time cursor, or none). */
export function lagSecondsOf(syncCursorJson: string | null, now = Date.now(), caughtUp?: string | null, zone?: string): number | undefined {
  let cursor: unknown;
  try {
    cursor = syncCursorJson ? (JSON.parse(syncCursorJson) as unknown) : null;
  } catch {
    cursor = null;
  }
  const t = lagTime(cursor, caughtUp, zone, now);
  return t === undefined ? undefined : Math.max(0, (now - t) / 1000);
}

/** Behind by more than three schedule periods (or an hour without a schedule): lagging. */
export function lagLimitSeconds(it: Pick<Integration, 'schedule'>): number {
  return lagLimitOf(it.schedule);
}

function lagLimitOf(schedule: ScheduleConfig | undefined): number {
  const every = schedule && 'every' in schedule ? Number(schedule.every) / 1000 : undefined;
  return every ? Math.max(60, 3 * every) : 3600;
}

/** What a row is about: an integration of the config or an instance of a template. */
interface Member {
  id: string;
  sourceKind: string;
  schedule: ScheduleConfig | undefined;
  instance?: InstanceMember;
  /** The zone its naive cursor times are written in (see lagTime). */
  zone?: string | undefined;
}

function sourceKindOf(m: InstanceMember): string {
  const source = m.template.raw.source as { kind?: unknown } | undefined;
  return typeof source?.kind === 'string' ? source.kind : 'unknown';
}

/**
 * Everything the overview shows, for all integrations and instances: per state database one listing of
 * its templates' instances and three statements (run summaries, main checkpoints, pending dead letters)
 * over all its ids, plus two Temporal listings; never one per row.
 */
export async function loadOverview(config: Config, dbs: StateDbs, temporal: Client | undefined, now = Date.now()): Promise<Overview> {
  const { groups, unreachable } = groupByDb(dbs, config.integrations);
  const templates = templatesByDb(config, dbs.env);
  const members = new Map<string, Member[]>();
  for (const [url, its] of groups) members.set(url, its.map((it) => ({ id: it.id, sourceKind: it.source.kind, schedule: it.schedule, zone: cursorZoneOf(it.source) })));
  for (const url of templates.groups.keys()) if (!members.has(url)) members.set(url, []);
  const summaries = new Map<string, RunSummaryRow>();
  const checkpoints = new Map<string, MainCheckpointRow>();
  const letters = new Map<string, number>();
  const problems = new Map<string, string>(unreachable);
  const all: Member[] = config.integrations.filter((it) => unreachable.has(it.id)).map((it) => ({ id: it.id, sourceKind: it.source.kind, schedule: it.schedule }));
  // A template whose state database cannot be named: one row for it, so the page says so instead of hiding its instances.
  for (const [id, message] of templates.unreachable) {
    all.push({ id: `${id}/*`, sourceKind: 'template', schedule: undefined });
    problems.set(`${id}/*`, `state database of template ${id}: ${message}`);
  }
  let idsKnown!: (ids: ReadonlySet<string>) => void;
  // Temporal is asked while the databases answer; its workflows are matched to rows once every id is known.
  const temporalAsked = temporalView(temporal, new Promise<ReadonlySet<string>>((resolve) => (idsKnown = resolve)));
  await Promise.all(
    [...members].map(async ([url, list]) => {
      try {
        // One after the other: they share the database's one connection.
        const tpls = templates.groups.get(url);
        const instances = tpls ? await loadInstanceMembers(dbs, url, tpls) : [];
        for (const m of instances) list.push({ id: m.id, sourceKind: sourceKindOf(m), schedule: m.template.schedule, instance: m, zone: m.zone });
      } catch (err) {
        for (const t of templates.groups.get(url) ?? []) {
          list.push({ id: `${t.id}/*`, sourceKind: 'template', schedule: undefined });
          problems.set(`${t.id}/*`, `state database: ${(err as Error).message}`);
        }
      }
      all.push(...list);
      const ids = list.filter((m) => !problems.has(m.id)).map((m) => m.id);
      if (!ids.length) return;
      try {
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
  );
  idsKnown(new Set(all.map((m) => m.id)));
  const tv = await temporalAsked;
  const rows = all.map((m): OverviewRow => {
    const s = summaries.get(m.id);
    const cp = checkpoints.get(m.id);
    const lag = lagSecondsOf(cp?.cursor ?? null, now, cp?.caught_up, m.zone);
    const running = tv.running.get(m.id) ?? [];
    const dbRunning = s?.status === 'running';
    const inactive = m.instance && m.instance.status !== 'active' ? m.instance : undefined;
    const row: OverviewRow = {
      id: m.id,
      ...(m.instance ? { template: m.instance.template.id } : {}),
      ...(inactive ? { instanceStatus: inactive.status, ...(inactive.reason ? { reason: inactive.reason } : {}) } : {}),
      sourceKind: m.sourceKind,
      state: 'ok',
      lastSuccess: s?.last_success ?? null,
      failures: Number(s?.failures ?? 0),
      deadLetters: letters.get(m.id) ?? 0,
      running,
      ...(lag !== undefined ? { lagSeconds: lag } : {}),
      ...(tv.schedules.get(m.id) ? { schedule: tv.schedules.get(m.id) } : {}),
      ...(problems.get(m.id) ? { problem: problems.get(m.id) } : {}),
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
    row.state = stateOf({
      problem: row.problem,
      instanceStatus: inactive?.status,
      running: isRunning,
      lastRunStatus: row.lastRun?.status,
      schedulePaused: row.schedule?.paused,
      lagSeconds: row.lagSeconds,
      lagLimitSeconds: lagLimitOf(m.schedule),
    });
    return row;
  });
  return { rows, ...(tv.error ? { temporalError: tv.error } : {}) };
}
