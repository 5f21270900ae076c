import type { Client } from '@temporalio/client';
import type { Integration } from '../../config';
import { ActionRefusedError, type Form } from './action-error';
import { rewindCheckpoint } from './rewind-checkpoint';
import { backfill, cancel, resume, syncNow, tune } from './run-actions';
import { pauseSchedule, unpauseSchedule } from './schedule-actions';

export const ACTIONS = ['sync', 'backfill', 'resume', 'cancel', 'tune', 'pause', 'unpause', 'rewind'] as const;

export interface ActionDeps {
  temporal: Client | undefined;
  taskQueue: string;
  env: NodeJS.ProcessEnv;
}

/** An action of the page, done by the same functions as its CLI command; returns what happened. */
export async function dispatchAction(action: string, it: Integration, form: Form, deps: ActionDeps): Promise<string> {
  if (action === 'rewind') {
    // Only an explicit empty value means the beginning: a body without the field is not a request to reset.
    if (form.cursor === undefined) throw new ActionRefusedError('rewind', it.id, 'the form has no cursor field: send cursor=<cursor JSON>, or an empty cursor= for the beginning');
    return rewindCheckpoint(it, form.cursor, deps.env);
  }
  if (!(ACTIONS as readonly string[]).includes(action)) throw new ActionRefusedError(action, it.id, `unknown action: use one of ${ACTIONS.join(', ')}`, 404);
  const client = deps.temporal;
  if (!client) throw new ActionRefusedError(action, it.id, 'tidemark ui has no Temporal connection: set TEMPORAL_ADDRESS and restart it', 503);
  switch (action) {
    case 'sync': return syncNow(client, deps.taskQueue, it.id);
    case 'backfill': return backfill(client, deps.taskQueue, it, form);
    case 'resume': return resume(client, deps.taskQueue, it, deps.env);
    case 'cancel': return cancel(client, it, deps.env);
    case 'tune': return tune(client, it.id, form);
    case 'pause': return pauseSchedule(client, it.id, form.note);
    default: return unpauseSchedule(client, it.id);
  }
}
