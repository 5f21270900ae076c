import type { Client } from '@temporalio/client';
import { describeIfExists, scheduleIdFor } from '../../schedules';
import { ActionRefusedError } from './action-error';

async function describe(client: Client, action: string, id: string) {
  const d = await describeIfExists(client.schedule.getHandle(scheduleIdFor(id)));
  if (!d) throw new ActionRefusedError(action, id, `no schedule in Temporal (${scheduleIdFor(id)}): give it \`schedule:\` in the config and run \`tidemark schedule apply\``, 404);
  return d;
}

/** `tidemark schedule pause <id> [--note]`. */
export async function pauseSchedule(client: Client, id: string, note: string | undefined): Promise<string> {
  const d = await describe(client, 'pause', id);
  const given = note?.trim();
  // Already paused and no new note: the note an operator left stays (it says why).
  if (d.state.paused && !given) return `schedule already paused${d.state.note ? ` (${d.state.note})` : ''}: nothing changed`;
  const text = given || 'paused from tidemark ui';
  await client.schedule.getHandle(d.scheduleId).pause(text);
  return `schedule paused (${text})${d.state.paused ? ' (it was already paused)' : ''}`;
}

/** `tidemark schedule unpause <id>`. */
export async function unpauseSchedule(client: Client, id: string): Promise<string> {
  const d = await describe(client, 'unpause', id);
  if (!d.state.paused) return 'schedule not paused, nothing to do';
  await client.schedule.getHandle(d.scheduleId).unpause('unpaused from tidemark ui');
  return 'schedule unpaused';
}
