import type { Client } from '@temporalio/client';
import { stateDbUrlOf } from '../config/sink-schema';
import type { Config } from '../config/schema';
import { closeQuietly } from '../pg/connect';
import { openStateSession } from '../db/state-session';
import { listInstanceRows } from '../db/state/instances-list';
import { summarizeRuns, type RunSummary } from '../db/state/instances-summary';
import { instanceRef } from './instance-id';
import { instanceWeight } from './instance-weight';
import { templateStateUrl } from './templates';
import { cursorZoneOf, lagTime } from '../cursor/lag-time';
import { addStuckRuns } from './stuck-runs';

/** One line of `status --all`: an integration of the config or an instance of a template. */
export interface StatusLine {
  id: string;
  template?: string;
  /** An instance's fairness weight (its own, else the template's `fairnessWeight`, else 1). */
  weight?: number;
  /** ok | failing (also: its running workflow's task keeps failing on the workers) | running | never-run (no run completed yet) | paused | needs_reauth (an instance's status comes first) | unreachable (its state database: `reason`) */
  state: string;
  reason?: string;
  lastSuccess: string | null;
  /** Seconds between now and the newest cursor time committed, when the cursor holds a time. */
  lagSeconds: number | null;
  lastRows: number;
  consecutiveFailures: number;
  /** Dead letters waiting for a person (`tidemark dead-letters <id>`): records the run went on without. */
  deadLetters: number;
  /** The next scheduled run (ISO 8601), when it has a schedule and Temporal was asked. */
  nextRun: string | null;
}

/**
 * Every integration and instance in one pass: one state query per state database, and (with a client) one
 * listing of the schedules, so it stays cheap with thousands of instances.
 */
export async function statusAll(
  config: Config,
  /** `unreachableLines`: a state database that cannot be read gives its lines (state unreachable) instead of failing the whole reading (the CLI's overview; metrics keep their last values instead). */
  opts: { env?: NodeJS.ProcessEnv; client?: Client; template?: string; failing?: boolean; unreachableLines?: boolean } = {},
): Promise<StatusLine[]> {
  const env = opts.env ?? process.env;
  const byUrl = new Map<string, { ids: string[]; templates: string[] }>();
  const at = (url: string) => byUrl.get(url) ?? byUrl.set(url, { ids: [], templates: [] }).get(url)!;
  if (!opts.template) for (const it of config.integrations) at(stateDbUrlOf(it, env)).ids.push(it.id);
  for (const t of config.templates ?? []) if (!opts.template || t.id === opts.template) at(templateStateUrl(t, env)).templates.push(t.id);
  const lines: StatusLine[] = [];
  for (const [url, want] of byUrl) {
    const db = await openStateSession(url, { applicationName: 'tidemark-status' }).catch((err: unknown) => {
      // One database down hides only its own lines (an acceptance run: the whole overview failed).
      if (!opts.unreachableLines) throw err;
      lines.push(...unreachable(want, (err as Error).message));
      return undefined;
    });
    if (!db) continue;
    try {
      const rows = want.templates.length ? await listInstanceRows(db, want.templates) : [];
      const instances = new Map(rows.map((r) => [instanceRef(r.template, r.instanceId), r]));
      const templates = new Map((config.templates ?? []).map((t) => [t.id, t]));
      const sources = new Map(config.integrations.map((it) => [it.id, it.source]));
      for (const s of await summarizeRuns(db, [...want.ids, ...instances.keys()])) {
        const row = instances.get(s.integration);
        const weight = row ? instanceWeight(templates.get(row.template) ?? {}, row) : undefined;
        const zone = row ? cursorZoneOf(templates.get(row.template)?.raw.source, row.params) : cursorZoneOf(sources.get(s.integration));
        lines.push(lineOf(s, row ? { template: row.template, status: row.status, reason: row.reason, weight: weight! } : undefined, zone));
      }
    } finally {
      await closeQuietly(db);
    }
  }
  if (opts.client) await addNextRuns(opts.client, lines);
  if (opts.client) await addStuckRuns(opts.client, lines);
  lines.sort((a, b) => a.id.localeCompare(b.id));
  // Failing, or waiting for a person: refused credentials, records left in dead letters.
  return opts.failing ? lines.filter((l) => l.state === 'failing' || l.state === 'needs_reauth' || l.state === 'unreachable' || l.deadLetters > 0) : lines;
}

/** The lines of a state database that cannot be read: each integration, and each template's instances as one line. */
function unreachable(want: { ids: string[]; templates: string[] }, error: string): StatusLine[] {
  const line = (id: string, template?: string): StatusLine => ({ id, ...(template ? { template } : {}), state: 'unreachable', reason: error, lastSuccess: null, lagSeconds: null, lastRows: 0, consecutiveFailures: 0, deadLetters: 0, nextRun: null });
  return [...want.ids.map((id) => line(id)), ...want.templates.map((t) => line(`${t}/*`, t))];
}

function lineOf(s: RunSummary, instance: { template: string; status: string; reason: string | null; weight: number } | undefined, zone: string | undefined): StatusLine {
  // ok needs a run that got somewhere: one whose runs were all cancelled has not (a time-boxed partial run has).
  const unsettled = s.lastStatus === 'cancelled' && s.consecutiveFailures === 0 && s.lastSuccess === null;
  const ran = s.lastStatus === null || unsettled ? 'never-run' : s.lastStatus === 'running' ? 'running' : s.consecutiveFailures > 0 ? 'failing' : 'ok';
  const state = instance && instance.status !== 'active' ? instance.status : ran;
  const why = unsettled ? `no run completed yet; the last was ${s.lastStatus}${s.lastError ? `: ${s.lastError}` : ''}` : null;
  // A time-boxed run that stopped with more to read: the next runs go on (a backlog being worked off).
  const behind = state === 'ok' && s.lastStatus === 'partial' ? 'catching up: the last run stopped at its time budget with more to read' : null;
  const reason = instance?.reason ?? (state === 'failing' ? s.lastError : state === 'never-run' ? why : behind);
  return {
    id: s.integration,
    ...(instance ? { template: instance.template, weight: instance.weight } : {}),
    state,
    ...(reason ? { reason } : {}),
    lastSuccess: s.lastSuccess,
    lagSeconds: lagOf(s.cursor, Date.now(), s.caughtUp, zone),
    lastRows: s.lastRows,
    consecutiveFailures: s.consecutiveFailures,
    deadLetters: s.deadLetters,
    nextRun: null,
  };
}

/** The first value of a cursor that reads as a time (e.g. updated_at of (updated_at, id)): how far behind the source the target is. */
export function lagOf(cursor: unknown, now = Date.now(), caughtUp: string | null = null, zone?: string): number | null {
  const t = lagTime(cursor, caughtUp, zone, now);
  return t === undefined ? null : Math.max(0, Math.round((now - t) / 1000));
}

/**
 * The next run of each scheduled line; a paused schedule has none, and a line that would read ok or never-run
 * reads paused, with the schedule's note (found by an acceptance run: `schedule pause` left a line "ok").
 */
export async function addNextRuns(client: Client, lines: StatusLine[]): Promise<void> {
  const next = new Map<string, string>();
  const paused = new Map<string, string>();
  for await (const s of client.schedule.list()) {
    const id = s.memo?.tidemark === true ? String(s.memo.integration) : undefined;
    const t = s.info?.nextActionTimes?.[0];
    if (id && s.state?.paused) paused.set(id, s.state.note || 'schedule paused');
    else if (id && t) next.set(id, t.toISOString());
  }
  for (const l of lines) {
    l.nextRun = next.get(l.id) ?? null;
    const note = paused.get(l.id);
    if (note !== undefined && (l.state === 'ok' || l.state === 'never-run')) Object.assign(l, { state: 'paused', reason: l.reason ?? note });
  }
}
