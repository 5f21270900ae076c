import type { OverviewRow, RowState } from '../data/overview';
import { ago, count, duration, until } from '../format';
import { h, maskSecrets, type Safe } from '../html';
import { layout, stateBadge, type PageContext } from './layout';
import { liveProgressCell, progressBar } from './progress';

export const STATES: readonly (RowState | 'all')[] = ['all', 'failing', 'needs_reauth', 'lagging', 'running', 'paused', 'new', 'ok', 'unavailable'];
const SORTS = ['id', 'state', 'lastSuccess', 'lag', 'rows', 'failures', 'next'] as const;
type Sort = (typeof SORTS)[number];

export interface OverviewQuery {
  q: string;
  state: RowState | 'all';
  kind: string;
  /** Only the instances of this template ('' = every row). */
  template: string;
  sort: Sort;
  dir: 'asc' | 'desc';
  page: number;
  size: number;
}

/** Query string → a valid query (unknown values fall back to the defaults; nothing from it reaches SQL). */
export function parseOverviewQuery(p: Record<string, string | undefined>): OverviewQuery {
  const state = STATES.includes(p.state as RowState) ? (p.state as RowState | 'all') : 'all';
  const sort = SORTS.includes(p.sort as Sort) ? (p.sort as Sort) : 'state';
  const size = Math.min(1000, Math.max(10, Number(p.size) || 50));
  return { q: (p.q ?? '').slice(0, 200), state, kind: (p.kind ?? '').slice(0, 64), template: (p.template ?? '').slice(0, 64), sort, dir: p.dir === 'desc' ? 'desc' : 'asc', page: Math.max(1, Math.floor(Number(p.page) || 1)), size };
}

// Worst first when sorted by state. The whole table also refreshes itself now and then (new runs, states).
const STATE_ORDER: Record<RowState, number> = { unavailable: 0, failing: 1, needs_reauth: 2, lagging: 3, running: 4, paused: 5, new: 6, ok: 7 };

function key(r: OverviewRow, sort: Sort): string | number {
  switch (sort) {
    case 'id': return r.id;
    case 'state': return STATE_ORDER[r.state];
    case 'lastSuccess': return r.lastSuccess ? Date.parse(r.lastSuccess.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00')) : -Infinity;
    case 'lag': return r.lagSeconds ?? -1;
    case 'rows': return r.lastRun?.rows ?? -1;
    case 'failures': return r.failures;
    case 'next': return r.schedule?.nextRun ? Date.parse(r.schedule.nextRun) : Infinity;
  }
}

export function selectRows(rows: readonly OverviewRow[], q: OverviewQuery): { page: OverviewRow[]; matching: number; pages: number } {
  const text = q.q.toLowerCase();
  const filtered = rows.filter((r) => (q.state === 'all' || r.state === q.state) && (!text || r.id.includes(text)) && (!q.kind || r.sourceKind === q.kind || r.template === q.kind) && (!q.template || r.template === q.template));
  const sign = q.dir === 'desc' ? -1 : 1;
  filtered.sort((a, b) => {
    const x = key(a, q.sort);
    const y = key(b, q.sort);
    return (x < y ? -1 : x > y ? 1 : a.id.localeCompare(b.id)) * sign;
  });
  const pages = Math.max(1, Math.ceil(filtered.length / q.size));
  const page = Math.min(q.page, pages);
  return { page: filtered.slice((page - 1) * q.size, page * q.size), matching: filtered.length, pages };
}

function link(q: OverviewQuery, change: Partial<OverviewQuery>): string {
  const n = { ...q, ...change };
  const params = new URLSearchParams();
  if (n.q) params.set('q', n.q);
  if (n.state !== 'all') params.set('state', n.state);
  if (n.kind) params.set('kind', n.kind);
  if (n.template) params.set('template', n.template);
  params.set('sort', n.sort);
  params.set('dir', n.dir);
  if (n.page > 1) params.set('page', String(n.page));
  if (n.size !== 50) params.set('size', String(n.size));
  return `/?${params.toString()}`;
}

function sortHeader(q: OverviewQuery, sort: Sort, label: string, num = false): Safe {
  const dir = q.sort === sort && q.dir === 'asc' ? 'desc' : 'asc';
  const mark = q.sort === sort ? (q.dir === 'asc' ? ' ▲' : ' ▼') : '';
  return h`<th${num ? h` class="num"` : ''}><a href="${link(q, { sort, dir, page: 1 })}">${label}${mark}</a></th>`;
}

function row(r: OverviewRow, ctx: PageContext): Safe {
  const href = `/i/${encodeURIComponent(r.id)}`;
  const lastRun = r.lastRun ? h`${r.lastRun.kind} ${r.lastRun.status}` : h`<span class="muted">never</span>`;
  const schedule = r.schedule ? (r.schedule.paused ? h`paused` : until(r.schedule.nextRun)) : h`<span class="muted">none</span>`;
  const progress =
    r.state === 'running'
      ? liveProgressCell(r.id, ctx.refreshMs, progressBar({ rows: r.runningRows ?? 0, ...(r.runningRate !== undefined ? { rate: r.runningRate } : {}) }))
      : r.problem
        ? h`<span title="${maskSecrets(r.problem)}">${maskSecrets(r.problem).slice(0, 80)}</span>`
        : r.instanceStatus
          ? h`<span class="reason" title="${maskSecrets(r.reason ?? '')}">instance ${r.instanceStatus}${r.reason ? `: ${maskSecrets(r.reason).slice(0, 80)}` : ''}</span>`
          : r.lastRun?.error
          ? h`<span title="${maskSecrets(r.lastRun.error)}">${maskSecrets(r.lastRun.error).slice(0, 80)}</span>`
          : '';
  return h`<tr class="${r.state}" data-id="${r.id}"${r.template ? h` data-template="${r.template}"` : ''}>
<td><a href="${href}">${r.id}</a>${r.template ? h` <span class="muted">(instance of ${r.template})</span>` : ''}</td>
<td>${stateBadge(r.state)}</td><td>${r.sourceKind}</td>
<td>${ago(r.lastSuccess)}</td><td class="num">${r.lagSeconds !== undefined ? duration(r.lagSeconds) : '—'}</td>
<td>${lastRun}</td><td class="num">${count(r.lastRun?.rows)}</td>
<td class="num">${r.failures || ''}</td>
<td class="num">${r.deadLetters ? h`<a href="${href}/dead-letters">${count(r.deadLetters)}</a>` : ''}</td>
<td>${schedule}</td><td>${progress}</td></tr>`;
}

export function overviewPage(all: readonly OverviewRow[], q: OverviewQuery, ctx: PageContext, temporalError?: string): Safe {
  const { page, matching, pages } = selectRows(all, q);
  const kinds = [...new Set(all.map((r) => r.sourceKind))].sort();
  const templates = [...new Set(all.flatMap((r) => (r.template ? [r.template] : [])))].sort();
  const counts = new Map<string, number>();
  for (const r of all) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const shown = Math.min(q.page, pages);
  const body = h`
${temporalError ? h`<div class="notice">Temporal: ${temporalError}. States come from the runs table; schedules and live progress are missing.</div>` : ''}
<form method="get" action="/" class="filters">
<input type="search" name="q" value="${q.q}" placeholder="integration or instance id">
<select name="state">${STATES.map((s) => h`<option value="${s}"${q.state === s ? ' selected' : ''}>${s}${s !== 'all' && counts.get(s) ? ` (${counts.get(s)})` : ''}</option>`)}</select>
<select name="kind"><option value="">every kind</option>${kinds.map((k) => h`<option value="${k}"${q.kind === k ? ' selected' : ''}>${k}</option>`)}</select>
${templates.length || q.template ? h`<select name="template"><option value="">every template</option>${[...new Set([...templates, ...(q.template ? [q.template] : [])])].map((t) => h`<option value="${t}"${q.template === t ? ' selected' : ''}>${t}</option>`)}</select>` : ''}
<input type="hidden" name="sort" value="${q.sort}"><input type="hidden" name="dir" value="${q.dir}">
<button type="submit">filter</button>
<span class="muted">${matching} of ${all.length} integrations and instances</span>
</form>
<div id="overview-wrap" hx-get="${link(q, {})}" hx-trigger="every ${Math.max(5_000, ctx.refreshMs * 10)}ms" hx-select="#overview-wrap" hx-swap="outerHTML" hx-disinherit="*">
<table id="overview"><thead><tr>
${sortHeader(q, 'id', 'integration')}${sortHeader(q, 'state', 'state')}<th>kind</th>${sortHeader(q, 'lastSuccess', 'last success')}${sortHeader(q, 'lag', 'lag', true)}
<th>last run</th>${sortHeader(q, 'rows', 'rows', true)}${sortHeader(q, 'failures', 'failures in a row', true)}<th class="num">dead letters</th>${sortHeader(q, 'next', 'next run')}<th>progress / last error</th>
</tr></thead><tbody>${page.map((r) => row(r, ctx))}</tbody></table>
<nav class="pages">${shown > 1 ? h`<a href="${link(q, { page: shown - 1 })}">← previous</a>` : ''}<span>page ${shown} of ${pages}</span>${shown < pages ? h`<a href="${link(q, { page: shown + 1 })}">next →</a>` : ''}</nav></div>`;
  return layout('integrations', ctx, body);
}
