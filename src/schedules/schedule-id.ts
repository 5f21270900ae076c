/**
 * Names of an integration's Schedule and of the runs it starts. The run prefix lives in ../client
 * (next to the manual and cron ids, which `status` and `cancel` search together); re-exported here.
 */
import { temporalIdPart } from '../instances/instance-id';

export { scheduledWorkflowIdPrefix } from '../client';

/** The one Schedule of an integration (or instance: `tpl/acme` → tidemark-tpl.acme-schedule). */
export function scheduleIdFor(integration: string): string {
  return `tidemark-${temporalIdPart(integration)}-schedule`;
}
