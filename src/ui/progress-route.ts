import type { Client } from '@temporalio/client';
import { runningWorkflowsOf } from '../client';
import { describeRun, silentLine } from '../cli/run-progress';
import { h, maskSecrets, type Safe } from './html';
import { progressBar, progressFromHeartbeat } from './pages/progress';

/**
 * The live progress of one integration, from its running workflow's latest heartbeat (what `tidemark
 * status` shows). `done` when nothing runs any more: the page then stops asking (htmx, HTTP 286).
 */
export async function progressRoute(id: string, temporal: Client | undefined, runKeys: () => Promise<string[]> = async () => []): Promise<{ body: Safe; done: boolean }> {
  if (!temporal) return { body: h`<span class="muted">no Temporal connection</span>`, done: true };
  // Also a workflow started under an id of the operator's choosing: the state database has its run as running.
  const [handle] = await runningWorkflowsOf(temporal, id, await runKeys().catch(() => []));
  const view = handle ? await describeRun(temporal, handle).catch(() => undefined) : undefined;
  if (!view || view.status !== 'RUNNING') return { body: h`<span class="muted">finished${view ? ` (${view.status.toLowerCase()})` : ''}: reload for the result</span>`, done: true };
  const bar = view.progress ? progressFromHeartbeat(view.progress, view.shards) : progressBar({ rows: 0 });
  const retry = !view.lastFailure
    ? ''
    : view.recovered
      ? h`<br><span class="muted">recovered: attempt ${view.attempt} is reading; the one before failed: ${maskSecrets(view.lastFailure)}</span>`
      : h`<br><span class="state state-failing">retrying</span> attempt ${view.attempt}: ${maskSecrets(view.lastFailure)}`;
  const silent = view.silent ? h`<br><span class="state state-failing">silent</span> ${silentLine(view.silent)}` : '';
  return { body: h`${bar}${retry}${silent}`, done: false };
}
