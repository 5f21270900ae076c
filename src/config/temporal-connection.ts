import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { PermanentError } from '../errors';
import { temporalSettings } from './temporal-env';

export class TemporalConnectionConfigError extends PermanentError {
  override readonly name = 'TemporalConnectionConfigError';
}

/**
 * Connection options for a Temporal cluster or Temporal Cloud, from the environment, shared by the
 * worker and the CLI:
 * - TEMPORAL_API_KEY: API key auth (Temporal Cloud); implies TLS.
 * - TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY: mTLS client certificate and key (file paths); implies TLS.
 * - TEMPORAL_TLS_CA: a CA bundle to trust (file path); TEMPORAL_TLS_SERVER_NAME overrides SNI.
 * - TEMPORAL_TLS=true: TLS with the system's trust store and no client certificate.
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

export function temporalConnectionOptions(env: NodeJS.ProcessEnv = process.env): TemporalConnectionOptions {
  const { address } = temporalSettings(env);
  const read = (name: string) => {
    const path = env[name];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TemporalConnectionConfigError(`${name}=${path}: cannot read the file (${(err as Error).message})`);
    }
  };
  const crt = read('TEMPORAL_TLS_CERT');
  const key = read('TEMPORAL_TLS_KEY');
  if (!!crt !== !!key) throw new TemporalConnectionConfigError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both (mTLS) or neither');
  const ca = read('TEMPORAL_TLS_CA');
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const wantsTls = !!(crt || ca || apiKey || env.TEMPORAL_TLS === 'true' || env.TEMPORAL_TLS_SERVER_NAME);
  const tls = wantsTls
    ? {
        ...(crt && key ? { clientCertPair: { crt, key } } : {}),
        ...(ca ? { serverRootCACertificate: ca } : {}),
        ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
      }
    : undefined;
  return { address, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}

/** The error of a Temporal server that does not answer (the CLI's client, the worker after its wait): where, why, what to do. */
export function temporalUnreachable(address: string, why: string, cause: unknown): Error {
  return new Error(`cannot reach Temporal at ${address} (${why}): start it with \`tidemark dev\` or set TEMPORAL_ADDRESS`, { cause });
}
