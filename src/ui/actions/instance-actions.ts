import type { Config } from '../../config';
import { resolveIntegration } from '../../instances/resolve-integration';
import { pauseInstance, resumeInstance, type PauseResult } from '../../instances/manage-instances';
import type { Form } from './action-error';
import { dispatchAction, type ActionDeps } from './dispatch';

function described(r: PauseResult, reason?: string): string {
  const schedule = r.schedule === 'none' ? 'no schedule' : `schedule ${r.schedule}`;
  return `instance ${r.status}${reason ? ` (${reason})` : ''}; ${schedule}`;
}

/**
 * An action on an instance, as the CLI does it: pause/unpause are `tidemark instances pause|resume` (its
 * status and its schedule, with the reason); the others resolve the instance as the CLI's preloadInstances
 * does (paused ones too; secrets decrypted only when TIDEMARK_ENCRYPTION_KEY is set) and run the same
 * action as for an integration.
 */
export async function dispatchInstanceAction(action: string, config: Config, id: string, template: string, instance: string, form: Form, deps: ActionDeps): Promise<string> {
  const common = { config, template, instance, env: deps.env, taskQueue: deps.taskQueue, ...(deps.temporal ? { client: deps.temporal } : {}) };
  if (action === 'pause') {
    const reason = form.note?.trim() || 'paused from tidemark ui';
    return described(await pauseInstance({ ...common, reason }), reason);
  }
  if (action === 'unpause') return described(await resumeInstance(common));
  const r = await resolveIntegration(config, id, deps.env, { inactive: true, decrypt: !!deps.env.TIDEMARK_ENCRYPTION_KEY });
  return dispatchAction(action, r.integration, form, { ...deps, env: r.env });
}
