import type pg from 'pg';
import { isPostgresSource, type Integration } from '../config';
import { resolvePgUrl } from '../config/pg-url';
import { listShardSlots, runningRunKeys, runSessionPrefix } from '../db/state';
import { formatDuration } from '../config/duration';
import { blockedSessions, type BlockedSession } from '../pg/blocked-sessions';
import { closeQuietly, connect, pgAddress } from '../pg/connect';

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
  const source = sourceUrl(integration, env);
  // The state database's server already showed every session of its own (pg_stat_activity spans the cluster).
  if (source && pgAddress(source)?.split('/')[0] !== `${db.host}:${db.port}`) {
    const other = await connect(source, { applicationName: 'tidemark-cli', connectTimeoutMs: 3_000 }).catch(() => undefined);
    if (other) found.push(...(await blockedSessions(other, prefixes).catch(() => [])));
    await closeQuietly(other);
  }
  return found.map(blockedLine);
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
  const who = b.blockers.length
    ? b.blockers
        .map((h) => {
          const detail = [h.state && (h.xactS !== null ? `${h.state} for ${formatDuration(h.xactS * 1000)}` : h.state), h.app && `application ${h.app}`, h.query && JSON.stringify(h.query.replace(/\s+/g, ' ').trim())].filter(Boolean);
          return `pid ${h.pid}${detail.length ? ` (${detail.join(', ')})` : ''}`;
        })
        .join(', ')
    : 'a session that has released it since';
  return `${what} (pid ${b.pid}) has waited ${formatDuration(b.waitedS * 1000)} for a lock held by ${who}: it goes on when that transaction ends`;
}
