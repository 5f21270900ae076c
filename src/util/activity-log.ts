import { Context } from '@temporalio/activity';

/** The activity's logger when running in one (the worker's log), else the console (a source used on its own: the CLI, a test). */
export function warnInActivity(message: string, fields: Record<string, unknown>): void {
  try {
    Context.current().log.warn(message, fields);
  } catch {
    console.warn(`${message} ${JSON.stringify(fields)}`);
  }
}
