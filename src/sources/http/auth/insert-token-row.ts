import type pg from 'pg';
import type { TokenRowKey } from './token-row';

/** An empty row to lock, so the first refresh of an integration is single-flight too. */
export async function insertTokenRow(client: pg.Client, k: TokenRowKey): Promise<void> {
  await client.query(
    `INSERT INTO tidemark.oauth_tokens (integration, token_url, client_id) VALUES ($1::text, $2::text, $3::text)
     ON CONFLICT (integration, token_url, client_id) DO NOTHING`,
    [k.integration, k.tokenUrl, k.clientId],
  );
}
