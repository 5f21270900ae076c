import { sql } from './db';

/** One scheduled run of an instance, as tidemark.runs recorded it, with the time its schedule meant it to start. */
export interface ScheduledRun {
  integration: string;
  status: string;
  attempts: number;
  scheduledMs: number;
  startedMs: number;
  finishedMs: number | null;
  rows: number;
}

/** A scheduled workflow's id ends with the nominal time the Schedule appended: `…-scheduled-2026-11-30T05:00:00Z`. */
const NOMINAL = /-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)\/[^/]+$/;

export async function scheduledRuns(url: string, template: string): Promise<ScheduledRun[]> {
  const rows = await sql<{ run_id: string; integration: string; status: string; attempts: string; started: string; finished: string | null; rows: string }>(
    url,
    `SELECT run_id, integration, status, attempts::text, (extract(epoch FROM started_at) * 1000)::text AS started,
            (extract(epoch FROM finished_at) * 1000)::text AS finished, coalesce(rows_committed, 0)::text AS rows
       FROM tidemark.runs WHERE integration LIKE $1::text`,
    [`${template}/%`],
  );
  const out: ScheduledRun[] = [];
  for (const r of rows) {
    const m = NOMINAL.exec(r.run_id);
    if (!m) continue; // a run started by hand, not by the schedule
    out.push({
      integration: r.integration,
      status: r.status,
      attempts: Number(r.attempts),
      scheduledMs: Date.parse(m[1] as string),
      startedMs: Number(r.started),
      finishedMs: r.finished === null ? null : Number(r.finished),
      rows: Number(r.rows),
    });
  }
  return out;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export interface CycleFigures {
  cycle: number;
  /** start of the interval (ISO) */
  from: string;
  instancesSynced: number;
  runs: number;
  failedOrRunning: number;
  /** schedule time → completion, seconds */
  latencyP50: number;
  latencyP95: number;
  latencyMax: number;
  /** schedule time → the activity's start (queueing in Temporal and the worker's slots), seconds */
  startP50: number;
  startP95: number;
  /** the activity's own time, seconds */
  activityP50: number;
  activityP95: number;
  runsPerMinute: number;
  rows: number;
}

/** Figures of the runs the schedules meant to start in [from, from + everyMs). */
export function cycleFigures(runs: ScheduledRun[], cycle: number, fromMs: number, everyMs: number): CycleFigures {
  const inCycle = runs.filter((r) => r.scheduledMs >= fromMs && r.scheduledMs < fromMs + everyMs);
  const done = inCycle.filter((r) => r.status === 'completed' && r.finishedMs !== null);
  const sorted = (f: (r: ScheduledRun) => number) => done.map(f).sort((a, b) => a - b);
  const latency = sorted((r) => (r.finishedMs! - r.scheduledMs) / 1000);
  const start = sorted((r) => (r.startedMs - r.scheduledMs) / 1000);
  const activity = sorted((r) => (r.finishedMs! - r.startedMs) / 1000);
  const lastDone = done.length ? Math.max(...done.map((r) => r.finishedMs!)) : fromMs;
  const span = Math.max(everyMs, lastDone - fromMs) / 60_000;
  return {
    cycle,
    from: new Date(fromMs).toISOString(),
    instancesSynced: new Set(done.map((r) => r.integration)).size,
    runs: inCycle.length,
    failedOrRunning: inCycle.length - done.length,
    latencyP50: percentile(latency, 50),
    latencyP95: percentile(latency, 95),
    latencyMax: latency.at(-1) ?? NaN,
    startP50: percentile(start, 50),
    startP95: percentile(start, 95),
    activityP50: percentile(activity, 50),
    activityP95: percentile(activity, 95),
    runsPerMinute: done.length / span,
    rows: done.reduce((n, r) => n + r.rows, 0),
  };
}
