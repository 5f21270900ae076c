import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { extname, join } from 'node:path';
import { PermanentError } from '../errors';

/**
 * Encrypts every payload (workflow inputs and results, heartbeat details with their cursors, failures'
 * details) with AES-256-GCM before it leaves the process, so Temporal stores ciphertext. The key comes
 * from TIDEMARK_ENCRYPTION_KEY (32 bytes, base64 or hex) on every worker and client; the key id (a
 * hash of the key) travels in the metadata so a wrong key fails with a clear message, not garbage.
 */
const ENCODING = 'binary/encrypted';
const encoder = new TextEncoder();

export class EncryptionKeyError extends PermanentError {
  override readonly name = 'EncryptionKeyError';
}

export function parseKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new EncryptionKeyError('TIDEMARK_ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)');
  return key;
}

export class AesGcmCodec implements PayloadCodec {
  private readonly keyId: string;

  constructor(private readonly key: Buffer) {
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { [METADATA_ENCODING_KEY]: encoder.encode(ENCODING), 'encryption-key-id': encoder.encode(this.keyId) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (Buffer.from(p.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCODING) return p;
      const keyId = Buffer.from(p.metadata?.['encryption-key-id'] ?? []).toString();
      if (keyId !== this.keyId) throw new EncryptionKeyError(`payload was encrypted with key ${keyId}, but TIDEMARK_ENCRYPTION_KEY is key ${this.keyId}`);
      const data = Buffer.from(p.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The data converter for clients and workers: encrypted when TIDEMARK_ENCRYPTION_KEY is set. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): { payloadCodecs: PayloadCodec[]; failureConverterPath: string } | undefined {
  const key = env.TIDEMARK_ENCRYPTION_KEY;
  // Failure messages and stack traces are not payloads: encodeCommonAttributes moves them into one, so they are encrypted too.
  return key ? { payloadCodecs: [new AesGcmCodec(parseKey(key))], failureConverterPath: join(__dirname, `failure-converter${extname(__filename)}`) } : undefined;
}
