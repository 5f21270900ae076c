import type { Target } from '../data/resolve-target';
import { ago } from '../format';
import { h, maskSecrets, type Safe } from '../html';
import { stateBadge } from './layout';

// A parameter whose name looks like a secret is not shown even though parameters are meant to be plain.
const SECRET_NAME = /pass|secret|token|api_?key|auth|credential|private/i;

/**
 * An instance's own facts: template, status with its reason, parameters, and its secrets as references
 * only (`env NAME` or `encrypted`): never a value, nor the ciphertext.
 */
export function instanceSection(instance: NonNullable<Target['instance']>): Safe {
  const { template, row } = instance;
  const params = Object.entries(row.params);
  const secrets = Object.entries(row.secrets).map(([name, s]) => [name, 'env' in s ? `env ${s.env}` : 'encrypted'] as const);
  return h`<section id="instance"><h2>instance of <a href="/?template=${encodeURIComponent(template.id)}">${template.id}</a></h2>
<p>status ${stateBadge(row.status === 'active' ? 'ok' : row.status)} <b>${row.status}</b>${row.reason ? h` <span class="reason">${maskSecrets(row.reason)}</span>` : ''}
<span class="muted">added ${ago(row.createdAt)}, changed ${ago(row.updatedAt)}</span></p>
${row.status === 'needs_reauth' ? h`<p class="notice">The source or the destination refused this instance's credentials; its schedule is paused. After the customer re-authorizes: put the new secret in place (a <code>--secret</code> variable: its new value in the workers' environment; a <code>--secret-file</code>: <code>tidemark instances remove</code>, then <code>instances add</code> with the new file, which keeps the checkpoints) and resume it (below, or <code>tidemark instances resume ${template.id} ${row.instanceId}</code>).</p>` : ''}
<table id="instance-params"><thead><tr><th>parameter / secret</th><th>value</th></tr></thead><tbody>
${params.map(([k, v]) => h`<tr><td>${k}</td><td><code>${SECRET_NAME.test(k) ? '***' : maskSecrets(v)}</code></td></tr>`)}
${secrets.map(([k, v]) => h`<tr><td>secret ${k}</td><td class="muted">${v}</td></tr>`)}
${params.length + secrets.length ? '' : h`<tr><td colspan="2" class="muted">none</td></tr>`}
</tbody></table></section>`;
}
