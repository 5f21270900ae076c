import type pg from 'pg';
import type { TokenRow, TokenRowKey } from './token-row';

/** The row, locked until the transaction ends: another worker refreshing the same tokens waits here. */
export async function lockTokenRow(client: pg.Client, k: TokenRowKey): Promise<TokenRow | undefined> {
  const r = await client.query<{
    refresh_token_ciphertext: Buffer | null;
    access_token_ciphertext: Buffer | null;
    expires_at: Date | null;
    key_id: string | null;
    seed_hmac: string | null;
    updated_at: Date;
  }>(
    `SELECT refresh_token_ciphertext, access_token_ciphertext, expires_at, key_id, seed_hmac, updated_at
       FROM tidemark.oauth_tokens
      WHERE integration = $1::text AND token_url = $2::text AND client_id = $3::text
        FOR UPDATE`,
    [k.integration, k.tokenUrl, k.clientId],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    refreshTokenCiphertext: row.refresh_token_ciphertext,
    accessTokenCiphertext: row.access_token_ciphertext,
    expiresAt: row.expires_at,
    keyId: row.key_id,
    seedHmac: row.seed_hmac,
    updatedAt: row.updated_at,
  };
}
