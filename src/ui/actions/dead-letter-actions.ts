import type { Integration } from '../../config';
import { retryDeadLetters } from '../../transform/retry-dead-letters';

/** `tidemark dead-letters <id> --retry`: every pending letter re-processed with the current config and target. */
export async function retryAllDeadLetters(it: Integration, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await retryDeadLetters(it, env);
  const failing = r.stillFailing.slice(0, 5).map((f) => `#${f.id}: ${f.reason}`);
  return `${r.pending} pending dead letter(s) re-processed: ${r.pending - r.stillFailing.length} now pass (${r.written} rows written), ${r.stillFailing.length} still failing${failing.length ? ` (${failing.join('; ')})` : ''}`;
}
