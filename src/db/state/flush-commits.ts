import type pg from 'pg';

/**
 * Waits until every commit of this session so far is on disk: a transaction with an id commits with a
 * flushed WAL record (synchronous_commit is on outside the pages that turn it off), and the WAL is flushed
 * in order, so the pages committed lazily before it are flushed too. One round trip and one flush.
 */
export async function flushCommits(client: pg.Client): Promise<void> {
  await client.query('SELECT txid_current()');
}
