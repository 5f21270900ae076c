import type pg from 'pg';
import { isPostgresSource, type Integration } from '../config';
import { resolvePgUrl } from '../config/pg-url';
import { listShardSlots, runningRunKeys, runSessionPrefix } from '../db/state';
import { formatDuration } from '../config/duration';
import { blockedSessions, type BlockedSession } from '../pg/blocked-sessions';
import { closeQuietly, connect } from '../pg/connect';

/**
 * `status`: what the integration's running runs wait for, when a lock holds them (a target locked by a migration,
 * a session idle in transaction on the source): their sessions are named after their lock tags (run-lock.ts).
 * Looked up in the state database (the sink's) and, on another server, the PostgreSQL source's. Nothing when
 * nothing waits, or a database cannot be asked (`status` shows the rest).
 */
export async function blockedLines(db: pg.Client, integration: Integration, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const keys = await runningRunKeys(db, integration.id).catch(() => []);
  if (!keys.length) return [];
  const shards = await listShardSlots(db, integration.id).catch(() => []);
  const prefixes = keys.flatMap((k) => [runSessionPrefix(k), ...shards.map((s) => runSessionPrefix(k, s.index))]);
  const found: BlockedSession[] = await blockedSessions(db, prefixes).catch(() => []);
  // The source's sessions, with its own role (another role's waits are hidden); one server asked twice lists a
  // session twice: kept once.
  const source = sourceUrl(integration, env);
  if (source) {
    const other = await connect(source, { applicationName: 'tidemark-cli', connectTimeoutMs: 3_000 }).catch(() => undefined);
    if (other) found.push(...(await blockedSessions(other, prefixes).catch(() => [])));
    await closeQuietly(other);
  }
  const once = new Map(found.map((b) => [`${b.pid} ${b.app}`, b]));
  return [...once.values()].map(blockedLine);
}

function sourceUrl(it: Integration, env: NodeJS.ProcessEnv): string | undefined {
  if (!isPostgresSource(it.source)) return undefined;
  try {
    return resolvePgUrl(it.source.url, `integrations[${it.id}].source.url`, env);
  } catch {
    return undefined; // its ${NAME} set only where the workers run
  }
}

/** One line for `status`: what waits, since when, for whom, and what ends it. */
export function blockedLine(b: BlockedSession): string {
  const what = b.app.endsWith(':source') ? "the run's source read" : "the run's write";
  const holders = b.blockers.map((h) => {
    // Another role's session shows "<insufficient privilege>" for its query (and nothing for its state) to a role without pg_read_all_stats.
    const hidden = h.query === '<insufficient privilege>';
    const query = hidden ? "another role's session: its details need pg_read_all_stats" : h.query && JSON.stringify(h.query.replace(/\s+/g, ' ').trim());
    const detail = [h.state && (h.xactS !== null ? `${h.state} for ${formatDuration(h.xactS * 1000)}` : h.state), h.app && `application ${h.app}`, query].filter(Boolean);
    return `pid ${h.pid}${detail.length ? ` (${detail.join(', ')})` : ''}`;
  });
  // pg_blocking_pids says pid 0 for a prepared transaction: it has no session to name.
  if (b.prepared) holders.push('a prepared transaction (pg_prepared_xacts: COMMIT PREPARED or ROLLBACK PREPARED ends it)');
  const who = holders.length ? holders.join(', ') : 'a session that has released it since';
  return `${what} (pid ${b.pid}) has waited ${formatDuration(b.waitedS * 1000)} for a lock held by ${who}: it goes on when that transaction ends`;
}
