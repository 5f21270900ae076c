import { randomBytes } from 'node:crypto';
import { closeQuietly, connect } from '../../src/pg/connect';
import { migrate } from '../../src/db/migrate';
import { CredentialsRefusedError, type HttpAuth } from '../../src/sources/http/auth';

/** 32 random bytes, base64: a TIDEMARK_ENCRYPTION_KEY. */
export function newKey(): string {
  return randomBytes(32).toString('base64');
}

export async function migrated(url: string): Promise<void> {
  const c = await connect(url);
  try {
    await migrate(c);
  } finally {
    await closeQuietly(c);
  }
}

/**
 * A GET the way the HTTP client uses an auth: apply() before the request; on 401, onUnauthorized()
 * once, and the request again if it says a new credential may help; otherwise CredentialsRefusedError.
 */
export async function authedGet(auth: HttpAuth, url: string): Promise<{ status: number; body: unknown }> {
  for (let retried = false; ; retried = true) {
    const req = { url: new URL(url), headers: { accept: 'application/json' } as Record<string, string> };
    await auth.apply(req);
    const res = await fetch(req.url, { headers: req.headers });
    const body = (await res.json()) as unknown;
    if (res.status !== 401) return { status: res.status, body };
    if (retried || !(await auth.onUnauthorized())) throw new CredentialsRefusedError(auth.redact(req.url.toString()), auth.type);
  }
}
