import type { Integration } from '../../config';
import { retryDeadLetters, retrySummary } from '../../transform/retry-dead-letters';

/** `tidemark dead-letters <id> --retry`: every pending letter re-processed with the current config and target. */
export async function retryAllDeadLetters(it: Integration, env: NodeJS.ProcessEnv): Promise<string> {
  return describe(await retryDeadLetters(it, env));
}

/** One letter, as `tidemark dead-letters <id> --retry --letter N` does. */
export async function retryOneDeadLetter(it: Integration, letter: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await retryDeadLetters(it, env, { ids: [letter] });
  if (!r.pending) return `dead letter #${letter} of ${it.id} is not pending (retried already, or not there)`;
  if (r.superseded) return `dead letter #${letter} was superseded by a later write of its key: not applied`;
  return r.stillFailing.length ? `dead letter #${letter} still fails: ${r.stillFailing[0]?.reason}` : `dead letter #${letter} now passes (${r.written} row written)`;
}

function describe(r: Awaited<ReturnType<typeof retryDeadLetters>>): string {
  const failing = r.stillFailing.slice(0, 5).map((f) => `#${f.id}: ${f.reason}`);
  return `${retrySummary(r)}${failing.length ? ` (${failing.join('; ')})` : ''}`;
}
