import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { unsetEnvRefs } from '../../src/config/unset-env-refs';
import { freePort } from '../../src/dev';
import { runCli, startCli, waitExit } from '../helpers/cli';

// An acceptance run: a config naming ${STRIPE_KEY_NOT_SET} was accepted by `sync`, and the worker said nothing until
// the run started and failed. The worker now names such variables when it starts; the CLI notes the ones its shell lacks.
let cwd: string;
let deadTemporal: string;
const YAML = [
  'integrations:',
  '  - id: charges',
  '    source: {kind: http, url: "https://api.example.com/v1/charges", records: data, columns: {id: text}, pagination: {style: starting_after}, auth: {type: bearer, token: "${TM_TEST_UNSET_KEY}"}}',
  '    sink: {url: "${TM_TEST_DST}", table: public.charges, key: [id], create: true}',
  '  - id: fine',
  '    source: {kind: postgres, url: "${TM_TEST_DST}", table: public.orders, cursor: [updated_at, id]}',
  '    sink: {url: "${TM_TEST_DST}", table: public.copy, key: [id], create: true}',
  '',
].join('\n');

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'tm-unset-env-'));
  writeFileSync(join(cwd, 'tidemark.yaml'), YAML);
  deadTemporal = `127.0.0.1:${await freePort()}`;
});

describe('environment references the process lacks', () => {
  // X-Secret: an instance's encrypted secret as the CLI leaves it without the key; the workers decrypt it, no variable.
  it('are listed with their fields; set ones and instance references are not', () => {
    const config = parseConfig({
      integrations: [
        {
          id: 'a',
          source: { kind: 'http', url: 'https://x.example/${TM_TEST_PATH}', records: 'data', columns: { id: 'text' }, pagination: { style: 'starting_after' }, headers: { 'X-Key': '${TM_TEST_KEY}', 'X-Set': '${TM_TEST_SET}', 'X-Secret': '${__TIDEMARK_SECRET_db}' } },
          sink: { url: '${TM_TEST_SET}', table: 'public.a', key: ['id'] },
        },
      ],
    });
    expect(unsetEnvRefs(config.integrations[0]!, { TM_TEST_SET: 'postgres://x' })).toEqual([
      { field: 'source.url', variable: 'TM_TEST_PATH' },
      { field: 'source.headers.X-Key', variable: 'TM_TEST_KEY' },
    ]);
  });

  it('the worker names them when it starts, and still starts; sync notes them and goes on', async () => {
    const w = await startCli(['worker'], { TEMPORAL_ADDRESS: deadTemporal, TM_TEST_DST: 'postgres://127.0.0.1:1/x' }, /waiting for Temporal/, cwd);
    w.child.kill('SIGTERM');
    await waitExit(w.child);
    expect(w.output()).toContain("tidemark worker: warning: not set in this worker's environment, so every run of it fails until the worker restarts with them: charges: ${TM_TEST_UNSET_KEY} (source.auth.token)");
    expect(w.output()).not.toMatch(/warning: .*fine:/);
    const s = await runCli(['sync', 'charges'], { TEMPORAL_ADDRESS: deadTemporal, TM_TEST_DST: 'postgres://127.0.0.1:1/x' }, cwd);
    expect(s.stderr).toContain('note: not set in this shell; the workers need them, or the run fails at its start: charges: ${TM_TEST_UNSET_KEY} (source.auth.token)');
    // It goes on to Temporal (not answering here): a note, not a refusal.
    expect(s.stderr).toMatch(/Temporal/);
  });
});
