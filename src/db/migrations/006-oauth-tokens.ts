/**
 * OAuth2 tokens of HTTP sources (src/sources/http/auth), one row per integration, token endpoint and
 * client. Tokens are stored only as AES-256-GCM ciphertext (TIDEMARK_ENCRYPTION_KEY): a rotated refresh
 * token must survive worker restarts, since the server has already invalidated the one in the config.
 * Workers refresh under `SELECT … FOR UPDATE` on the row, so two runs never spend one refresh token twice.
 */
export default `
CREATE TABLE tidemark.oauth_tokens (
  integration text NOT NULL,
  token_url text NOT NULL,
  client_id text NOT NULL,
  -- the latest refresh token (null for client_credentials, or until the first refresh)
  refresh_token_ciphertext bytea,
  -- the latest access token, shared by the workers until expires_at
  access_token_ciphertext bytea,
  expires_at timestamptz,
  -- which TIDEMARK_ENCRYPTION_KEY encrypted the row (a hash of it), for a clear error when the key changed
  key_id text,
  -- HMAC of the refresh token in the config when the row was written: a new one there replaces the stored one
  seed_hmac text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration, token_url, client_id)
);
`;
