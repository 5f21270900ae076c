import type { DeadLetterRow } from '../../db/state';
import { shortTime } from '../format';
import { h, maskSecrets, type Safe } from '../html';
import { csrfField, layout, type PageContext } from './layout';

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

export function deadLettersPage(id: string, letters: readonly DeadLetterRow[], all: boolean, ctx: PageContext, limit: number): Safe {
  const base = `/i/${encodeURIComponent(id)}/dead-letters`;
  const pending = letters.filter((l) => !l.retried_at).length;
  const body = h`<h1><a href="/i/${encodeURIComponent(id)}">${id}</a>: dead letters</h1>
<p>${all ? h`all letters (<a href="${base}">pending only</a>)` : h`pending letters (<a href="${base}?all=1">with retried ones</a>)`}; the first ${limit} shown.</p>
<form method="post" action="${base}/retry" hx-post="${base}/retry" hx-target="#result" hx-confirm="Re-process every pending dead letter of ${id} with the current config and target?">
${csrfField(ctx)}<button type="submit" id="retry-all"${pending ? '' : ' disabled'}>retry all pending (${pending})</button></form>
<div id="result" aria-live="polite"></div>
<table id="dead-letters"><thead><tr><th>#</th><th>when</th><th>stage</th><th>HTTP status</th><th>reason</th><th>record</th><th>cursor</th><th>retried</th><th></th></tr></thead><tbody>
${letters.map((l) => h`<tr data-letter="${l.id}" class="${l.retried_at ? 'retried' : 'pending'}"><td>${l.id}</td><td>${shortTime(l.created_at)}${l.seen > 1 ? h`<br><span class="muted seen">refused ${l.seen} times, last ${shortTime(l.last_seen_at ?? l.created_at)}</span>` : ''}</td><td>${l.stage}${l.constraint_name ? h`<br><span class="muted">${l.constraint_name} (${l.sqlstate})</span>` : ''}</td><td class="http-status">${l.http_status ?? ''}</td>
<td><pre>${maskSecrets(l.reason)}</pre></td><td><pre>${maskSecrets(pretty(l.record))}</pre></td><td><code>${l.cursor ?? ''}</code></td><td>${l.retried_at ? shortTime(l.retried_at) : '—'}</td>
<td>${l.retried_at ? '' : h`<form method="post" action="${base}/${l.id}/retry" hx-post="${base}/${l.id}/retry" hx-target="#result" hx-confirm="Re-process dead letter #${l.id} with the current config and target?">${csrfField(ctx)}<button type="submit" class="retry-one">retry</button></form>`}</td></tr>`)}
${letters.length ? '' : h`<tr><td colspan="9" class="muted">no ${all ? '' : 'pending '}dead letters</td></tr>`}
</tbody></table>`;
  return layout(`${id} dead letters`, ctx, body);
}
