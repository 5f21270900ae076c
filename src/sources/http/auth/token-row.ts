/** A row of tidemark.oauth_tokens: one integration's tokens at one token endpoint for one client. */
export interface TokenRowKey {
  integration: string;
  tokenUrl: string;
  clientId: string;
}

export interface TokenRow {
  refreshTokenCiphertext: Buffer | null;
  accessTokenCiphertext: Buffer | null;
  expiresAt: Date | null;
  keyId: string | null;
  seedHmac: string | null;
  updatedAt: Date;
}

export interface TokenRowUpdate {
  refreshTokenCiphertext: Buffer | null;
  accessTokenCiphertext: Buffer;
  expiresAt: Date | null;
  keyId: string;
  seedHmac: string | null;
}

/** Associated data of a row's ciphertexts: they decrypt on this row only. */
export function rowAad(k: TokenRowKey, column: 'refresh' | 'access'): string {
  return [k.integration, k.tokenUrl, k.clientId, column].join('\0');
}
