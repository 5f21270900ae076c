import { stateDbUrlOf } from '../config/sink-schema';
import type { Integration } from '../config/schema';
import { closeQuietly, connect } from '../pg/connect';
import { runningRunKeys } from './state';

/**
 * runningRunKeys of an integration on a short session of its state database: the workflows of its running runs,
 * started under any id (`temporal workflow start -w …`, the UI). None when the database cannot be read here (its URL's
 * variable not set in this process, the server not answering): Temporal's own listing still answers.
 */
export async function runningRunKeysOf(it: Integration, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  let url: string;
  try {
    url = stateDbUrlOf(it, env);
  } catch {
    return [];
  }
  // Bounded: cancel must not wait minutes on a state database that does not answer (Temporal still does).
  const db = await connect(url, { applicationName: 'tidemark-cli', connectTimeoutMs: 3_000 }).catch(() => undefined);
  if (!db) return [];
  try {
    return await runningRunKeys(db, it.id).catch(() => []);
  } finally {
    await closeQuietly(db);
  }
}
