import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporalConnectionOptions, temporalSettings } from '../../src/config';

describe('Temporal connection settings from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-tls-'));
  writeFileSync(join(dir, 'client.pem'), 'CERT');
  writeFileSync(join(dir, 'client.key'), 'KEY');

  it('defaults: localhost:7233, namespace default, task queue tidemark, no TLS', () => {
    expect(temporalSettings({})).toEqual({ address: 'localhost:7233', namespace: 'default', taskQueue: 'tidemark' });
    expect(temporalConnectionOptions({})).toEqual({ address: 'localhost:7233' });
  });

  it('API key (Temporal Cloud) implies TLS; mTLS reads the certificate pair', () => {
    expect(temporalConnectionOptions({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' })).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'k' });
    const mtls = temporalConnectionOptions({ TEMPORAL_TLS_CERT: join(dir, 'client.pem'), TEMPORAL_TLS_KEY: join(dir, 'client.key'), TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    expect(mtls.tls).toEqual({ clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') }, serverNameOverride: 'temporal.internal' });
  });

  it('names the variable when a file is missing or half a pair is set', () => {
    expect(() => temporalConnectionOptions({ TEMPORAL_TLS_CERT: join(dir, 'client.pem') })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    expect(() => temporalConnectionOptions({ TEMPORAL_TLS_CA: join(dir, 'nope.pem') })).toThrow(/TEMPORAL_TLS_CA=.*nope.pem: cannot read the file/);
  });
});
