import type { Context } from '@temporalio/activity';
import type pg from 'pg';
import { setInstanceStatus } from '../db/state/instances-set-status';
import { setInstanceSchedulePaused } from '../schedules/instance-schedules';
import { parseInstanceRef } from './instance-id';

/** Errors by which a source or an HTTP sink refuses an instance's credentials (by name: instances do not import them). */
const REFUSALS = new Set(['CredentialsRefusedError', 'OAuthTokenRefusedError', 'DeliveryCredentialsError', 'ApiCredentialsRefusedError']);

/** The source or the sink refused the instance's credentials: retrying cannot help, the customer re-authorizing can. */
export function isCredentialRefusal(err: unknown): boolean {
  const e = err as { name?: unknown; status?: unknown } | null;
  return REFUSALS.has(String(e?.name)) || (e?.name === 'HttpStatusError' && (e.status === 401 || e.status === 403));
}

/**
 * When an instance's run fails because its credentials were refused: status `needs_reauth` with the
 * reason, and its schedule paused with it, so it stops failing every tick while the other instances go on.
 * `tidemark instances resume` (or resumeInstance) after the customer re-authorized. Never throws: the
 * run's own failure is what the caller reports.
 */
export async function noteInstanceFailure(ctx: Context, db: pg.Client | undefined, id: string, err: unknown, template?: { raw: Record<string, unknown> }): Promise<void> {
  const ref = parseInstanceRef(id);
  if (!ref || !isCredentialRefusal(err)) return;
  const e = err as Error;
  const reason = `credentials refused: ${e.message.split(`. ${HINT_MARK} `)[0]}`.slice(0, 500);
  // The source's hint names config fields and the workers' environment; when the template's credentials are the
  // instance's secrets, say so (an acceptance run: the hint sent an operator to source.headers for an encrypted
  // secret). Once: shards share one refused token request's error.
  if (template && usesSecretCredentials(template.raw) && !e.message.includes(HINT_MARK)) e.message += `. For instance ${id} the credentials are its secrets (\`tidemark instances list\` shows how each is kept): once the customer re-authorized, put the new one in place (a --secret variable: its new value in every worker's environment, which takes restarting them; a --secret-file: \`instances remove\`, then \`instances add\` with the new file), then \`tidemark instances resume ${ref.template} ${ref.instance}\``;
  if (!db) return;
  try {
    await setInstanceStatus(db, ref.template, ref.instance, 'needs_reauth', reason);
    // The worker's client, when the activity runs in a worker (not in a test's mock environment).
    let client;
    try {
      client = ctx.client;
    } catch {
      return;
    }
    await setInstanceSchedulePaused(client, id, true, `instance needs_reauth: ${reason}`);
  } catch {
    // Best effort: the failure itself is recorded by the run.
  }
}

const HINT_MARK = 'For instance';

/** Whether the template's source or sink credentials (auth, headers) come from `${secret.X}`. */
function usesSecretCredentials(raw: Record<string, unknown>): boolean {
  const sides = [raw.source, raw.sink] as Array<{ auth?: unknown; headers?: unknown } | undefined>;
  return sides.some((side) => JSON.stringify([side?.auth ?? null, side?.headers ?? null]).includes('${secret.'));
}
