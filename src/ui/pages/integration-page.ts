import { describeSink, writtenEntryOf, type Integration } from '../../config';
import { slotStatusText, type RunRow } from '../../db/state';
import type { IntegrationDetail } from '../data/integration-detail';
import type { Target } from '../data/resolve-target';
import { ago, count, duration, shortTime, until } from '../format';
import { h, maskSecrets, Safe } from '../html';
import { redactConfig } from '../redact-config';
import { actionsPanel } from './actions-panel';
import { instanceSection } from './instance-section';
import { layout, stateBadge, type PageContext } from './layout';
import { liveProgressCell, progressBar } from './progress';

const toMs = (pgTime: string) => Date.parse(pgTime.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));

/** Temporal UI link of a run: tidemark.runs.run_id is "<workflowId>/<runId>". */
export function temporalLink(ctx: PageContext, runKey: string): string {
  const slash = runKey.lastIndexOf('/');
  const wf = slash > 0 ? runKey.slice(0, slash) : runKey;
  const run = slash > 0 ? runKey.slice(slash + 1) : '';
  return `${ctx.temporalUiUrl}/namespaces/${encodeURIComponent(ctx.namespace)}/workflows/${encodeURIComponent(wf)}${run ? `/${encodeURIComponent(run)}` : ''}/history`;
}

/** Chart series, oldest first: start time (s), rows committed, duration (s), rows/s (the running run's so far). */
export function chartData(runs: readonly RunRow[], now = Date.now()): number[][] {
  const ordered = [...runs].reverse();
  const x: number[] = [];
  const rows: number[] = [];
  const secs: number[] = [];
  const rate: number[] = [];
  for (const r of ordered) {
    const start = toMs(r.started_at);
    const end = r.finished_at ? toMs(r.finished_at) : now;
    const d = Math.max(0.001, (end - start) / 1000);
    x.push(Math.round(start / 1000));
    rows.push(Number(r.rows_committed));
    secs.push(Math.round(d * 10) / 10);
    rate.push(Math.round(Number(r.rows_committed) / d));
  }
  return [x, rows, secs, rate];
}

/** JSON inside a <script> element: "<" escaped so no value can close the element. */
function scriptJson(value: unknown): Safe {
  return new Safe(JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029'));
}

function runRow(r: RunRow, ctx: PageContext): Safe {
  const secs = r.finished_at ? (toMs(r.finished_at) - toMs(r.started_at)) / 1000 : undefined;
  return h`<tr class="${r.status}"><td>${shortTime(r.started_at)}</td><td>${r.kind}</td><td>${stateBadge(r.status === 'failed' ? 'failing' : r.status === 'running' ? 'running' : r.status === 'completed' ? 'ok' : 'paused')} ${r.status}</td>
<td class="num">${count(Number(r.rows_committed))}</td><td class="num">${count(Number(r.rows_rejected))}</td><td class="num">${duration(secs)}</td><td class="num">${r.attempts}</td>
<td><a href="${temporalLink(ctx, r.run_id)}" rel="noreferrer" target="_blank">Temporal</a></td><td>${r.error ? maskSecrets(r.error).slice(0, 120) : ''}</td></tr>`;
}

export function integrationPage(it: Integration, state: string, d: IntegrationDetail, running: boolean, ctx: PageContext, instance?: Target['instance']): Safe {
  const id = it.id;
  const errors = d.runs.filter((r) => r.error).slice(0, 5);
  const warnings = d.runs[0]?.warnings ?? [];
  const current = d.runs.find((r) => r.status === 'running');
  const head = h`<link rel="stylesheet" href="/static/uPlot.min.css"><script src="/static/uPlot.iife.min.js" defer></script><script src="/static/ui.js" defer></script>`;
  const body = h`<h1>${id} ${stateBadge(state)}</h1>
${d.problem ? h`<div class="notice">${maskSecrets(d.problem)}</div>` : ''}
${instance ? instanceSection(instance) : ''}
<p>source <b>${it.source.kind}</b> → sink <b>${describeSink(it.sink)}</b>; schedule ${d.schedule ? (d.schedule.paused ? h`<b>paused</b>${d.schedule.note ? ` (${d.schedule.note})` : ''}` : h`next ${until(d.schedule.nextRun)}`) : 'none'};
<a href="/i/${encodeURIComponent(id)}/dead-letters">${count(d.deadLetters)} pending dead letters</a></p>
${running ? h`<section><h2>running</h2>${liveProgressCell(id, ctx.refreshMs, progressBar({ rows: Number(current?.rows_committed ?? 0) }))}</section>` : ''}
<section><h2>run history</h2><div id="run-chart"></div>
<script type="application/json" id="run-chart-data">${scriptJson(chartData(d.runs))}</script></section>
<section><h2>checkpoints</h2><table id="checkpoints"><thead><tr><th>slot</th><th>status</th><th>cursor</th><th class="num">rows</th><th>owner</th><th>updated</th></tr></thead><tbody>
${d.checkpoints.map((c) => h`<tr><td>${c.slot}</td><td>${slotStatusText(c)}</td><td><code>${JSON.stringify(c.cursor)}</code></td><td class="num">${count(c.rowsDone)}</td><td>${c.owner ?? '—'}</td><td>${ago(c.updatedAt)}</td></tr>`)}
${d.checkpoints.length ? '' : h`<tr><td colspan="6" class="muted">no checkpoints yet: the next sync reads from the beginning</td></tr>`}
</tbody></table>
${d.shards.length ? h`<h3>shards</h3><table id="shards"><thead><tr><th>shard</th><th>status</th><th>cursor</th><th>ends at</th><th class="num">rows</th></tr></thead><tbody>${d.shards.map((s) => h`<tr><td>${s.index}</td><td>${s.status}</td><td><code>${JSON.stringify(s.cursor)}</code></td><td><code>${JSON.stringify(s.until)}</code></td><td class="num">${count(s.rowsDone)}</td></tr>`)}</tbody></table>` : ''}
</section>
<section id="errors"><h2>last errors</h2>${errors.length ? errors.map((r) => h`<div><b>${shortTime(r.started_at)}</b> ${r.kind} <a href="${temporalLink(ctx, r.run_id)}" rel="noreferrer" target="_blank">in Temporal</a><pre>${maskSecrets(r.error ?? '')}</pre></div>`) : h`<p class="muted">none in the last ${d.runs.length} runs</p>`}
${warnings.length ? h`<h3>warnings of the last run</h3>${warnings.map((w) => h`<pre>${maskSecrets(w)}</pre>`)}` : ''}</section>
${actionsPanel(id, ctx, !!d.schedule, !!d.schedule?.paused, instance?.row.status)}
<section><h2>runs</h2><table id="runs"><thead><tr><th>started</th><th>kind</th><th>status</th><th class="num">rows</th><th class="num">rejected</th><th class="num">took</th><th class="num">attempts</th><th>workflow</th><th>error</th></tr></thead>
<tbody>${d.runs.slice(0, 50).map((r) => runRow(r, ctx))}</tbody></table></section>
<section><h2>${writtenEntryOf(it) === undefined ? 'config (as resolved: parameters filled in, durations in ms, defaults added)' : 'config (as written)'}</h2><pre>${JSON.stringify(redactConfig(writtenEntryOf(it) ?? it), null, 2)}</pre></section>`;
  return layout(id, ctx, body, head);
}
