import { closeQuietly, connect } from '../pg/connect';
import { runningRunKeys } from './state';

/** runningRunKeys on a short session of the state database; none when it cannot be read (Temporal still answers). */
export async function runningRunKeysAt(url: string, integration: string): Promise<string[]> {
  // Bounded: cancel must not wait minutes on a state database that does not answer (Temporal still does).
  const db = await connect(url, { applicationName: 'tidemark-cli', connectTimeoutMs: 3_000 }).catch(() => undefined);
  if (!db) return [];
  try {
    return await runningRunKeys(db, integration).catch(() => []);
  } finally {
    await closeQuietly(db);
  }
}
