import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { instantiate } from '../../src/instances/instantiate';
import { templateStateUrl } from '../../src/instances/templates';
import { ConfigError, loadConfig, describeSink, isCustomSink, isHttpSink, isPostgresSink, parseConfig, postgresSinkOf, stateDbUrlOf, NotPostgresSinkError } from '../../src/config';

const source = { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] };
const http = { kind: 'http', url: 'https://api.example.com/v1/customers', key: ['id'] };
const one = (sink: unknown, extra: Record<string, unknown> = {}) => parseConfig({ integrations: [{ id: 'a', source, sink, ...extra }] });

/** The config error's issues as "path: message" lines. */
function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('sink union in the config (postgres | http | custom)', () => {
  it('a sink without kind is postgres, as before kinds existed; each kind keeps its own fields and state database', () => {
    const pg = one({ url: '${DST_URL}', table: 'copy.orders', key: ['id'] }).integrations[0]!;
    expect(isPostgresSink(pg.sink)).toBe(true);
    expect(stateDbUrlOf(pg, { DST_URL: 'postgres://x/y' })).toBe('postgres://x/y');
    expect(postgresSinkOf(pg, 'verify').table).toBe('copy.orders');

    const api = one({ ...http, stateUrl: '${STATE_URL}' }).integrations[0]!;
    expect(isHttpSink(api.sink)).toBe(true);
    expect(api.sink).toMatchObject({ method: 'POST', concurrency: 4, idempotencyHeader: 'Idempotency-Key' });
    expect(stateDbUrlOf(api, { STATE_URL: 'postgres://s/t' })).toBe('postgres://s/t');
    expect(describeSink(api.sink)).toBe('POST https://api.example.com/v1/customers');
    expect(() => postgresSinkOf(api, 'verify')).toThrow(NotPostgresSinkError);
    expect(() => postgresSinkOf(api, 'verify')).toThrow(/verify needs a PostgreSQL sink .* sink.kind http/);
    // The default state database is DATABASE_URL, named in the error when it is not set.
    expect(() => stateDbUrlOf(api, {})).toThrow(/STATE_URL/);

    const custom = one({ kind: 'warehouse', module: './warehouse-sink.js', bucket: 'b1' }).integrations[0]!;
    expect(isCustomSink(custom.sink)).toBe(true);
    expect(custom.sink).toMatchObject({ kind: 'warehouse', bucket: 'b1', stateUrl: '${DATABASE_URL}' });
  });

  it('names bad http sink fields before anything runs: method, concurrency, template fields, key fields, deletes', () => {
    expect(issuesOf(() => one({ ...http, method: 'GET' }))).toEqual(['integrations[0].sink.method: is "GET", which an HTTP sink does not send: use POST, PUT, PATCH or DELETE']);
    expect(issuesOf(() => one({ ...http, concurrency: 0 }))).toEqual(['integrations[0].sink.concurrency: must be from 1 to 64 requests in flight']);
    expect(issuesOf(() => one({ ...http, concurrency: 100 }))).toEqual(['integrations[0].sink.concurrency: must be from 1 to 64 requests in flight']);
    // create / schemaChanges belong to a table
    expect(issuesOf(() => one({ ...http, create: true, schemaChanges: 'fail' }))).toEqual(['create', 'schemaChanges'].map((f) => `integrations[0].sink.${f}: is for postgres sinks (a target table); an HTTP sink sends records to sink.url and has no table: remove it`));
    // With a column mapping, templates and the key may read only what the mapping produces.
    const mapping = { id: 'id', name: "=first_name & ' ' & last_name" };
    expect(issuesOf(() => one({ ...http, path: "'/' & customer_id", body: '{ "n": name, "e": email }' }, { mapping }))).toEqual([
      'integrations[0].sink.path: reads "customer_id", which the mapping does not produce (it produces id, name): fix the template or the mapping',
      'integrations[0].sink.body: reads "email", which the mapping does not produce (it produces id, name): fix the template or the mapping',
    ]);
    expect(issuesOf(() => one({ ...http, key: ['external_id'] }, { mapping }))).toEqual([
      'integrations[0].sink.key[0]: field "external_id" is not produced by the mapping (it produces id, name): the key names the record at the API',
    ]);
    expect(one({ ...http, path: "'/' & id", body: '{ "name": name }' }, { mapping }).integrations).toHaveLength(1);
    // An API's deletes go under sink.deletes (the delivery ledger is the target), checked against source and mapping.
    expect(issuesOf(() => one(http, { deletes: { reconcileEvery: '1h' } }))).toEqual([
      'integrations[0].deletes: with an HTTP sink, deletes go under sink.deletes ({ reconcileEvery, maxFraction?, path? }): the reconciliation compares the delivery ledger with the source',
    ]);
    const withDeletes = { ...http, path: "'/' & id", deletes: { reconcileEvery: '1h' } };
    expect(one(withDeletes, { mapping: { id: 'id', name: "=first_name & ' ' & last_name" } }).integrations).toHaveLength(1);
    expect(issuesOf(() => one(withDeletes, { mapping: { id: '=$string(id)', name: 'name' } }))).toEqual([
      'integrations[0].sink.key[0]: field "id" must be a source column passed through unchanged (mapping id: <column>) for deletes: the reconciliation looks its ledger values up in the source table',
    ]);
    expect(issuesOf(() => parseConfig({ integrations: [{ id: 'a', source: { kind: 'warehouse', module: './warehouse-source.js' }, sink: withDeletes }] }))).toContainEqual(
      'integrations[0].sink.deletes: records gone from the source are found by comparing the delivery ledger with a PostgreSQL table: needs source.kind postgres, not warehouse',
    );
    expect(issuesOf(() => one({ kind: 'Bad Kind' }))).toEqual(['integrations[0].sink.kind: must be a sink kind name: lower case letters, digits, "_" or "-"']);
    expect(issuesOf(() => one(http, { retryDeadLetters: 'always' }))).toEqual(['integrations[0].retryDeadLetters: must be manual or eachRun']);
  });

  it('templates: an http sink may use ${instance.X} in its url, path and headers, not in its state database', () => {
    const cfg = parseConfig({
      integrations: [
        {
          id: 'crm',
          template: true,
          source,
          sink: { ...http, url: 'https://${instance.host}/v1/customers', headers: { 'X-Tenant': '${instance.tenant}' }, stateUrl: '${STATE_URL}' },
        },
      ],
    });
    const t = cfg.templates![0]!;
    expect(t).toMatchObject({ params: ['host', 'tenant'], sinkUrl: '${STATE_URL}' });
    expect(templateStateUrl(t, { STATE_URL: 'postgres://state/db' })).toBe('postgres://state/db');
    // An instance: the API's host and the tenant header are its own; the state database is the template's.
    const { integration } = instantiate(t, { instanceId: 'acme', params: { host: 'acme.example.com', tenant: 't-42' }, secrets: {} }, {});
    expect(integration.id).toBe('crm/acme');
    expect(integration.sink).toMatchObject({ kind: 'http', url: 'https://acme.example.com/v1/customers', headers: { 'X-Tenant': 't-42' }, stateUrl: '${STATE_URL}' });
    expect(stateDbUrlOf(integration, { STATE_URL: 'postgres://state/db' })).toBe('postgres://state/db');
    expect(
      issuesOf(() => parseConfig({ integrations: [{ id: 'crm', template: true, source, sink: { ...http, stateUrl: 'postgres://h/${instance.db}' } }] })),
    ).toEqual(["integrations[0].sink.stateUrl: ${instance.db} is not allowed here: the state database holds the instances' state (tidemark.instances), so it cannot depend on the instance"]);
  });

  it('sink.module is named relative to the config file; the worker gets the absolute path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tm-sink-module-'));
    writeFileSync(join(dir, 'tidemark.yaml'), `integrations:\n  - id: a\n    source: { kind: postgres, url: "\${SRC_URL}", table: public.orders, cursor: [id] }\n    sink: { kind: warehouse, module: ./sinks/warehouse.js, bucket: b1 }\n`);
    const it0 = loadConfig(join(dir, 'tidemark.yaml')).integrations[0]!;
    expect(it0.sink).toMatchObject({ kind: 'warehouse', module: join(dir, 'sinks', 'warehouse.js'), bucket: 'b1' });
  });
});
