import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { parseKey } from '../../../codec/aes-gcm-codec';
import { TokenStoreKeyError } from './auth-errors';

/**
 * AES-256-GCM for tokens at rest, with TIDEMARK_ENCRYPTION_KEY (the key that encrypts Temporal payloads).
 * The row's identity is the associated data, so a ciphertext copied onto another row does not decrypt.
 */
export class TokenCipher {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  encrypt(plain: string, aad: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad));
    return Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  }

  decrypt(data: Buffer, aad: string): string {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, 12));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new TokenStoreKeyError(`a token in tidemark.oauth_tokens (${aad.split('\0').join(', ')}) does not decrypt with TIDEMARK_ENCRYPTION_KEY: the row was altered or written with another key`);
    }
  }

  /** A keyed fingerprint of a secret (never the secret itself), to notice when the config's refresh token changed. */
  fingerprint(secret: string): string {
    return createHmac('sha256', this.key).update(secret).digest('hex');
  }
}

export function tokenCipherFromEnv(env: NodeJS.ProcessEnv): TokenCipher | undefined {
  const key = env.TIDEMARK_ENCRYPTION_KEY;
  return key ? new TokenCipher(parseKey(key)) : undefined;
}
