import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunResult } from '../activities/types';
import { scheduledWorkflowIdPrefix } from '../client';
import type { Config } from '../config';
import { addInstance, type AddInstanceResult, type InstanceSecretInput } from '../instances/add-instance';
import { parseInstanceRef } from '../instances/instance-id';
import { searchAttributesFor } from '../instances/search-attributes';
import { getTemplate } from '../instances/templates';
import { instanceScheduleConfig } from '../schedules/instance-schedules';

/**
 * Instances in the test kit. The time-skipping test server has no Schedules API, so an instance's schedule is
 * not created there; `runSchedule` plays it instead: it skips time to each of its next ticks (the template's
 * `every` with the instance's offset, as the real Schedule fires) and runs the sync its Schedule would start,
 * with the same workflow id and search attributes.
 */
export class ScheduleNotPlayableError extends Error {
  override readonly name = 'ScheduleNotPlayableError';
  constructor(readonly integration: string, readonly reason: string) {
    super(`test kit cannot play the schedule of ${integration}: ${reason}`);
  }
}

export interface KitInstanceOptions {
  params?: Record<string, string>;
  /** By variable name (`{ env: 'ACME_TOKEN' }`, looked up in the kit's env) or by value (needs TIDEMARK_ENCRYPTION_KEY in the kit's env). */
  secrets?: Record<string, InstanceSecretInput>;
}

export interface ScheduledRun {
  /** The time on the test server when the run was started (the tick). */
  at: Date;
  workflowId: string;
  result: RunResult;
}

export interface KitInstances {
  addInstance(template: string, instance: string, opts?: KitInstanceOptions): Promise<AddInstanceResult>;
  runSchedule(integration: string, ticks?: number): Promise<ScheduledRun[]>;
}

export function kitInstances(config: Config, env: TestWorkflowEnvironment, taskQueue: string, vars: Record<string, string>): KitInstances {
  return {
    async addInstance(template, instance, opts = {}) {
      // Stored like `tidemark instances add` does; without its Schedule (the test server has none).
      const t = getTemplate(config, template);
      const withoutSchedule: Config = { ...config, templates: (config.templates ?? []).map((x) => (x === t ? { ...x, schedule: undefined } : x)) };
      return addInstance({ config: withoutSchedule, template, instance, params: opts.params ?? {}, secrets: opts.secrets ?? {}, env: vars, taskQueue });
    },
    async runSchedule(integration, ticks = 1) {
      const ref = parseInstanceRef(integration);
      const schedule = ref ? getTemplate(config, ref.template).schedule : config.integrations.find((i) => i.id === integration)?.schedule;
      if (!schedule) throw new ScheduleNotPlayableError(integration, 'it has no `schedule` in the config');
      if (!('every' in schedule)) throw new ScheduleNotPlayableError(integration, `only \`every\` schedules are played; for cron use kit.startCron('${integration}', '${schedule.cron}') and kit.skip`);
      const s = (ref ? instanceScheduleConfig(schedule, integration) : schedule) as typeof schedule;
      const offset = s.offset ?? 0;
      // A plain client: awaiting a result through env.client lets the server skip time while the run is idle
      // (it may jump years ahead to a timer the workflow later cancels), and ticks must stay one interval apart.
      const client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
      const runs: ScheduledRun[] = [];
      for (let i = 0; i < ticks; i++) {
        const now = await env.currentTimeMs();
        // The next tick: the first time t > now with t ≡ offset (mod every), counted from the epoch like Temporal does.
        const next = Math.floor((now - offset) / s.every + 1) * s.every + offset;
        await env.sleep(next - now);
        const at = new Date(next);
        const workflowId = `${scheduledWorkflowIdPrefix(integration)}-${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
        const result = (await client.workflow.execute('syncWorkflow', { taskQueue, workflowId, args: [{ integration }], typedSearchAttributes: searchAttributesFor(integration) })) as RunResult;
        runs.push({ at, workflowId, result });
      }
      return runs;
    },
  };
}
