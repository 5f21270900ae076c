import { closeQuietly, connect } from '../../../pg/connect';
import { insertTokenRow } from './insert-token-row';
import { lockTokenRow } from './lock-token-row';
import { saveTokenRow } from './save-token-row';
import type { TokenRow, TokenRowKey, TokenRowUpdate } from './token-row';

/** How long a worker waits for another one's refresh (a token request of at most the request timeout). */
const LOCK_TIMEOUT = '90s';

/**
 * Runs `fn` with the token row locked (`SELECT … FOR UPDATE` in a transaction), so across every worker
 * one refresh runs at a time per integration: the next one sees the tokens the first one stored and
 * never sends a refresh token that was already rotated away. What `fn` returns to store is committed
 * with the lock still held.
 */
export async function withLockedTokenRow<T>(dbUrl: string, key: TokenRowKey, fn: (row: TokenRow | undefined) => Promise<{ result: T; save?: TokenRowUpdate }>): Promise<T> {
  const client = await connect(dbUrl, { applicationName: 'tidemark-oauth', typed: true });
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    await insertTokenRow(client, key);
    const row = await lockTokenRow(client, key);
    const { result, save } = await fn(row);
    if (save) await saveTokenRow(client, key, save);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await closeQuietly(client);
  }
}
