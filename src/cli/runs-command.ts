import type { Command } from 'commander';
import type { RunRow } from '../db/state';
import { lazy } from './lazy';
import { wholeNumber } from './arg-parsers';

export function registerRuns(program: Command): void {
  program
    .command('runs <id>')
    .description('the run history of <id> (table tidemark.runs)')
    .option('--limit <n>', 'how many runs', wholeNumber(1, 100_000), 20)
    .option('--json', 'print JSON (numbers as numbers, cursors as JSON values)')
    .action(async (id: string, opts: { limit: number; json?: boolean }, cmd: Command) => {
      const { loadIntegration, stateUrl } = await lazy('./context');
      const { integration } = loadIntegration(cmd, id);
      const { openStateSession } = await lazy('../db/state-session');
      const { closeQuietly } = await lazy('../pg/connect');
      const { listRuns } = await lazy('../db/state');
      const db = await openStateSession(stateUrl(integration), { applicationName: 'tidemark-cli' });
      try {
        const runs = await listRuns(db, id, opts.limit);
        if (opts.json) return console.log(JSON.stringify(runs.map(typed), null, 2));
        if (!runs.length) return console.log(`${id}: no runs yet`);
        console.log(runsTable(runs));
      } finally {
        await closeQuietly(db);
      }
    });
}

/** A run as JSON: the state session reads every value as text; counters become numbers and cursors JSON again. */
function typed(r: RunRow) {
  const json = (v: string | null) => (v === null ? null : (JSON.parse(v) as unknown));
  return {
    ...r,
    attempts: Number(r.attempts),
    rows_read: Number(r.rows_read),
    rows_committed: Number(r.rows_committed),
    rows_written: Number(r.rows_written),
    rows_rejected: Number(r.rows_rejected),
    rows_deleted: Number(r.rows_deleted),
    pages: Number(r.pages),
    shards: r.shards === null ? null : Number(r.shards),
    start_cursor: json(r.start_cursor),
    end_cursor: json(r.end_cursor),
  };
}

const shardCount = (n: string) => `${n} shard${n === '1' ? '' : 's'}`;

const HEAD = ['started', 'finished', 'kind', 'status', 'attempts', 'read', 'committed', 'written', 'rejected', 'pages', 'cursor (start → end)'];

/** One aligned line per run, newest first; its error and warnings on lines of their own below it. */
export function runsTable(runs: readonly RunRow[]): string {
  const time = (t: string | null) => (t ? t.slice(0, 19) : '-');
  // A null start is the source's beginning; a null end, no page committed (a run that failed before reading showed `null → null`).
  // (A cursor column holds a JSON null, not SQL NULL, for the beginning: both read so.)
  const cursor = (c: string | null, none: string) => ((c === null ? null : JSON.parse(c)) === null ? none : JSON.stringify(JSON.parse(c as string))); // jsonb text has spaces after commas
  // A sharded resume has no one start: each unfinished shard continues from its own checkpoint.
  const start = (r: RunRow) => (r.kind === 'resume' && r.shards !== null ? `(the checkpoints of ${shardCount(r.shards)})` : cursor(r.start_cursor, '(beginning)'));
  const range = (r: RunRow) => `${start(r)} → ${cursor(r.end_cursor, r.status === 'running' ? '…' : r.status === 'completed' ? '(nothing new)' : '(nothing committed)')}`;
  const kind = (r: RunRow) => (r.shards === null ? r.kind : `${r.kind} (${shardCount(r.shards)})`);
  const rows = runs.map((r) => [time(r.started_at), time(r.finished_at), kind(r), r.status, r.attempts, r.rows_read, r.rows_committed, r.rows_written, r.rows_rejected, r.pages, range(r)]);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 4 && i <= 9 ? c.padStart(widths[i] as number) : i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const out = [line(HEAD)];
  runs.forEach((r, k) => {
    out.push(line(rows[k] as string[]));
    if (r.error) out.push(`    error: ${r.error}`);
    if (Number(r.rows_deleted) > 0) out.push(`    deleted: ${r.rows_deleted} target row(s) whose key the source no longer has (deletes)`);
    for (const w of r.warnings) out.push(`    warning: ${w}`);
  });
  return out.join('\n');
}
