import { h, type Safe } from '../html';
import { csrfField, type PageContext } from './layout';

function action(id: string, name: string, label: string, confirm: string, ctx: PageContext, fields: Safe | '' = ''): Safe {
  return h`<form class="inline action" method="post" action="/i/${encodeURIComponent(id)}/actions/${name}" hx-post="/i/${encodeURIComponent(id)}/actions/${name}" hx-target="#result" hx-swap="innerHTML" hx-confirm="${confirm}">
${csrfField(ctx)}${fields}<button type="submit" name="action" value="${name}">${label}</button></form> `;
}

/** An instance is paused as `tidemark instances pause|resume` does: its status and its schedule together. */
function instancePause(id: string, ctx: PageContext, status: string): Safe {
  return h`<fieldset><legend>instance</legend>
${status === 'active' ? action(id, 'pause', 'pause instance', `Pause instance ${id}? Its schedule starts nothing and its runs are refused until resumed.`, ctx, h`<label>reason <input name="note" size="24"></label> `) : action(id, 'unpause', 'resume instance', `Resume instance ${id} (${status}) and its schedule?`, ctx)}
</fieldset>`;
}

/** Every action asks for confirmation (htmx hx-confirm) and posts with the CSRF token. */
export function actionsPanel(id: string, ctx: PageContext, hasSchedule: boolean, paused: boolean, instanceStatus?: string): Safe {
  return h`<section id="actions"><h2>actions</h2>
<fieldset><legend>runs</legend>
${action(id, 'sync', 'sync now', `Start an incremental sync of ${id} now?`, ctx)}
${action(id, 'resume', 'resume backfill', `Resume the backfill of ${id} from its checkpoint?`, ctx)}
${action(id, 'cancel', 'cancel running', `Cancel the running workflows of ${id}? They stop after the batch in flight commits.`, ctx)}
</fieldset>
<fieldset><legend>backfill</legend>
${action(id, 'backfill', 'start backfill', `Start a full backfill of ${id}?`, ctx, h`<label>shards <input name="shards" size="3" inputmode="numeric"></label> <label>rows/s <input name="rate" size="6"></label> <label>batch size <input name="batchSize" size="6"></label> <label>from cursor <input name="from" size="24" placeholder='["2024-01-01 00:00:00+00","1"]'></label> `)}
</fieldset>
<fieldset><legend>tune the running backfill</legend>
${action(id, 'tune', 'tune', `Change the rate / batch size of ${id}'s running backfill?`, ctx, h`<label>rows/s <input name="rate" size="6"></label> <label>batch size <input name="batchSize" size="6"></label> `)}
</fieldset>
${instanceStatus ? instancePause(id, ctx, instanceStatus) : h`<fieldset><legend>schedule</legend>
${hasSchedule ? (paused ? action(id, 'unpause', 'unpause schedule', `Unpause the schedule of ${id}?`, ctx) : action(id, 'pause', 'pause schedule', `Pause the schedule of ${id}? It starts nothing until unpaused.`, ctx, h`<label>note <input name="note" size="24"></label> `)) : h`<span class="muted">no schedule in Temporal</span>`}
</fieldset>`}
<fieldset><legend>checkpoint</legend>
${action(id, 'rewind', 'move sync checkpoint', `Move the sync checkpoint of ${id}? The next sync starts there.`, ctx, h`<label>cursor (JSON; empty = the beginning) <input name="cursor" size="36"></label> `)}
</fieldset>
<div id="result" aria-live="polite"></div>
</section>`;
}
