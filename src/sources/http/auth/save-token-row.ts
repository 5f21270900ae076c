import type pg from 'pg';
import type { TokenRowKey, TokenRowUpdate } from './token-row';

export async function saveTokenRow(client: pg.Client, k: TokenRowKey, u: TokenRowUpdate): Promise<void> {
  await client.query(
    `UPDATE tidemark.oauth_tokens
        SET refresh_token_ciphertext = $4::bytea, access_token_ciphertext = $5::bytea, expires_at = $6::timestamptz,
            key_id = $7::text, seed_hmac = $8::text, updated_at = now()
      WHERE integration = $1::text AND token_url = $2::text AND client_id = $3::text`,
    [k.integration, k.tokenUrl, k.clientId, u.refreshTokenCiphertext, u.accessTokenCiphertext, u.expiresAt?.toISOString() ?? null, u.keyId, u.seedHmac],
  );
}
