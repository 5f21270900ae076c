import type { Progress } from '../../activities/types';
import { count, duration } from '../format';
import { h, type Safe } from '../html';

/** A progress bar with rows, rate and ETA; without a known total, a plain bar with the rows so far. */
export function progressBar(p: { rows: number; rate?: number; total?: number; etaSeconds?: number; shards?: { running: number; done: number; total: number } }): Safe {
  const pct = p.total ? Math.min(100, Math.floor((100 * p.rows) / p.total)) : undefined;
  const of = p.total ? h` / ${count(p.total)} (${pct}%)` : '';
  const rate = p.rate !== undefined ? h` · ${count(p.rate)} rows/s` : '';
  const eta = p.etaSeconds !== undefined ? h` · ETA ${duration(p.etaSeconds)}` : '';
  const shards = p.shards ? h` · shards ${p.shards.done}/${p.shards.total} done, ${p.shards.running} running` : '';
  return h`<span class="bar${pct === undefined ? ' unknown' : ''}"><span style="width:${pct ?? 100}%"></span></span>
<span class="progress-text" data-rows="${p.rows}">${count(p.rows)}${of} rows${rate}${eta}${shards}</span>`;
}

export function progressFromHeartbeat(p: Progress, shards?: { running: number; done: number; total: number }): Safe {
  return progressBar({ rows: p.rows, rate: p.rate, ...(p.total ? { total: p.total } : {}), ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}), ...(shards ? { shards } : {}) });
}

/** The cell that refreshes itself from /i/<id>/progress while the run goes on (htmx stops on HTTP 286). */
export function liveProgressCell(id: string, refreshMs: number, initial: Safe): Safe {
  return h`<div class="live-progress" hx-get="/i/${encodeURIComponent(id)}/progress" hx-trigger="every ${Math.max(250, refreshMs)}ms" hx-swap="innerHTML">${initial}</div>`;
}
