import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { parseKey } from '../codec/aes-gcm-codec';
import { InstanceSecretError } from './errors';

/** A secret of an instance as stored: a reference to the worker's environment, or AES-256-GCM ciphertext. */
export type SecretRef = { env: string } | { encrypted: string; keyId: string };

/**
 * AES-256-GCM with TIDEMARK_ENCRYPTION_KEY (the key of Temporal payloads and OAuth tokens). The row and
 * secret name are the associated data, so a ciphertext copied onto another instance does not decrypt.
 */
export class SecretCipher {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  static fromEnv(env: NodeJS.ProcessEnv, why: string): SecretCipher {
    const key = env.TIDEMARK_ENCRYPTION_KEY;
    if (!key) throw new InstanceSecretError(`${why}: set TIDEMARK_ENCRYPTION_KEY (32 bytes, e.g. \`openssl rand -base64 32\`) here and on every worker`);
    return new SecretCipher(parseKey(key));
  }

  encrypt(plain: string, aad: string): SecretRef {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad));
    const data = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { encrypted: data.toString('base64'), keyId: this.keyId };
  }

  decrypt(ref: { encrypted: string; keyId: string }, aad: string): string {
    const what = aad.split('\0').join(', ');
    if (ref.keyId !== this.keyId) throw new InstanceSecretError(`the secret (${what}) was encrypted with key ${ref.keyId}, but TIDEMARK_ENCRYPTION_KEY is key ${this.keyId}: set the previous key again, or add the instance again with its secret`);
    try {
      const data = Buffer.from(ref.encrypted, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, 12));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new InstanceSecretError(`the secret (${what}) in tidemark.instances does not decrypt with TIDEMARK_ENCRYPTION_KEY: the row was altered; add the instance again with its secret`);
    }
  }
}

/** The associated data of one secret of one instance. */
export function secretAad(template: string, instance: string, name: string): string {
  return `tidemark.instances\0${template}\0${instance}\0${name}`;
}
