import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, parseDuration, postgresSinkOf, resolveEnvRefs, MissingEnvError } from '../../src/config';
import { schemaChangesOf } from '../../src/config/schema';
import { resolvePgUrl } from '../../src/config/pg-url';
import { connectNamed } from '../../src/pg/connect';

const valid = {
  integrations: [
    {
      id: 'orders',
      source: { kind: 'postgres', url: '${SRC}', table: 'public.orders', cursor: ['updated_at', 'id'], lag: '2s' },
      sink: { url: '${DATABASE_URL}', table: 'public.orders_copy', key: ['id'], create: true },
      batchSize: 5000,
      schedule: { every: '5m' },
      maxRunDuration: '9m',
    },
  ],
};

function issuesOf(raw: unknown): string[] {
  try {
    parseConfig(raw, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

function withIntegration(patch: (it: Record<string, any>) => void): unknown {
  const copy = structuredClone(valid) as { integrations: Record<string, any>[] };
  patch(copy.integrations[0] as Record<string, any>);
  return copy;
}

describe('config', () => {
  it('parses the contract example with defaults and durations in ms', () => {
    const cfg = parseConfig(valid);
    const it0 = cfg.integrations[0]!;
    expect(it0.source).toMatchObject({ kind: 'postgres', lag: 2000 });
    expect(it0.sink).toMatchObject({ kind: 'postgres', create: true });
    expect(it0.schedule).toEqual({ every: 300_000, overlap: 'skip', catchupWindow: 60_000, paused: false });
    expect(it0.maxRunDuration).toBe(540_000);
  });

  it('keeps ${ENV} references unresolved (they are read in the worker only)', () => {
    expect((parseConfig(valid).integrations[0]!.source as { url: string }).url).toBe('${SRC}');
    expect(resolveEnvRefs('postgres://u:${PW}@h/db', 'source.url', { PW: 's3cret' })).toBe('postgres://u:s3cret@h/db');
    expect(() => resolveEnvRefs('${NOPE}', 'source.url', {})).toThrow(MissingEnvError);
    expect(() => resolveEnvRefs('${NOPE}', 'source.url', {})).toThrow(/source.url refers to \$\{NOPE\}/);
  });

  it.each([
    ['orders; DROP TABLE x', 'integrations[0].source.table'],
    ['public.orders"; --', 'integrations[0].source.table'],
    ['a.b.c', 'integrations[0].source.table'],
  ])('rejects table name %j naming the field', (table, path) => {
    expect(issuesOf(withIntegration((i) => (i.source.table = table))).join('\n')).toContain(path);
  });

  it('PostgreSQL URLs: a literal must be postgres://…, a reference must be closed; a resolved value is checked too (acceptance run)', async () => {
    expect(issuesOf(withIntegration((i) => (i.source.url = 'not a url')))).toEqual(['integrations[0].source.url: must be a PostgreSQL URL (postgres://user:password@host:5432/database) or ${NAME} of a variable holding one']);
    expect(issuesOf(withIntegration((i) => (i.source.url = '${SOURCE_DATABASE_URL')))).toEqual(['integrations[0].source.url: has a "${" without its closing "}" (at character 1): write ${NAME}']);
    expect(issuesOf(withIntegration((i) => (i.sink.url = 'postgres://u:${PW@h/db')))).toEqual(['integrations[0].sink.url: has a "${" without its closing "}" (at character 14): write ${NAME}']);
    for (const ok of ['postgresql://h/db', 'postgres:///db?host=/tmp', 'postgres://u:${PW}@h:5432/db', '${DATABASE_URL}']) expect(() => parseConfig(withIntegration((i) => (i.source.url = ok)))).not.toThrow();
    expect(resolvePgUrl('${SRC}', 'integrations[orders].source.url', { SRC: 'postgres://h/db' })).toBe('postgres://h/db');
    expect(() => resolvePgUrl('${SRC}', 'integrations[orders].source.url', { SRC: 'localhost:5432/db' })).toThrow(
      'integrations[orders].source.url is not a PostgreSQL URL once its ${…} references are filled in: it must read postgres://user:password@host:5432/database (the value is not shown: it may hold a password)',
    );
    // A password with a reserved character written as it is (an acceptance run: the URL's host became "ss" and the
    // error printed "ss:5432/w%rd:x@127.0.0.1:21432/src", most of the password). Refused before any connection,
    // naming the field and the fix, without a character of the value.
    const ENCODE = /percent-encoded \(\/ \? # as %2F %3F %23, and @ % as %40 %25: encodeURIComponent\(password\)\)/;
    for (const bad of ['postgres://src_reader:p@zq/w%rd:x@127.0.0.1:21432/src', 'postgres://u:a#b?c@h/db', 'postgres://u:12?y@h:5432/db', 'postgres://u:x?y@h:5432/db']) {
      let message = '';
      try {
        resolvePgUrl('${SRC}', 'integrations[orders].source.url', { SRC: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^integrations\[orders\]\.source\.url: its user name or password holds a character that must be percent-encoded/);
      expect(message).toMatch(ENCODE);
      for (const piece of ['zq', 'w%rd', 'a#b', '12?y', 'x?y']) expect(message).not.toContain(piece);
      expect(issuesOf(withIntegration((i) => (i.source.url = bad)))).toEqual([expect.stringMatching(/^integrations\[0\]\.source\.url: its user name or password holds .*\(the value is not shown: it may hold a password\)$/)]);
    }
    // Where a URL reaches a connection without the config's check (verify, the state database): refused the same way.
    const refused = (await connectNamed('postgres://u:p@zq/w%rd:x@127.0.0.1:1/db', 'the state database', 'integrations[orders].sink.url').catch((err: unknown) => err)) as Error;
    expect(refused).toMatchObject({ name: 'UrlUserinfoError', message: expect.stringMatching(/^integrations\[orders\]\.sink\.url: its user name or password holds/) });
    expect(refused.message).not.toMatch(/zq|w%rd/);
    // Encoded, and other reserved characters that need no encoding, pass.
    // A bare % (the driver encodes it) and an @ in a parameter's value (Cloud SQL's IAM users) are no such problem (review).
    for (const ok of ['postgres://src_reader:p%40ss%2Fw%25rd%3Ax@127.0.0.1:21432/src', 'postgres://u:p@ss@h/db', 'postgres://u:a:b@h/db?sslmode=disable', 'postgres:///db?host=/tmp', 'postgres://u:50%off@h/db', 'postgres://h/db?user=sa@proj.iam&sslmode=require', 'postgres://u@h/db?application_name=a@b', 'postgres://u:p@[::1]:5432/db']) {
      expect(resolvePgUrl('${SRC}', 'integrations[orders].source.url', { SRC: ok })).toBe(ok);
    }
  });

  it('rejects injected column names, bad ids, kinds, durations and duplicate ids, each naming its field', () => {
    expect(issuesOf(withIntegration((i) => (i.source.cursor = ['updated_at', 'id) OR 1=1 --'])))[0]).toMatch(/^integrations\[0\]\.source\.cursor\[1\]: must be a plain SQL identifier/);
    expect(issuesOf(withIntegration((i) => (i.id = 'Orders!')))[0]).toMatch(/^integrations\[0\]\.id: must match/);
    expect(issuesOf(withIntegration((i) => (i.source.kind = 'mysql')))[0]).toMatch(/^integrations\[0\]\.source(\.kind)?: .*unknown source kind/);
    expect(issuesOf(withIntegration((i) => (i.source.lag = 'soon')))[0]).toMatch(/^integrations\[0\]\.source\.lag: "soon" is not a duration/);
    expect(issuesOf(withIntegration((i) => (i.batchSize = 0)))[0]).toMatch(/^integrations\[0\]\.batchSize: /);
    expect(issuesOf(withIntegration((i) => (i.sink.key = [])))[0]).toMatch(/^integrations\[0\]\.sink\.key: needs at least one key column/);
    expect(issuesOf(withIntegration((i) => (i.surprise = 1)))[0]).toMatch(/^integrations\[0\]: .*surprise/);
    expect(issuesOf({ integrations: [valid.integrations[0], valid.integrations[0]] })[0]).toMatch(/^integrations\[1\]\.id: duplicate id "orders"/);
    // A duplicate id and other mistakes in one report (not the duplicate only after the rest is mended).
    const both = issuesOf({ integrations: [valid.integrations[0], { ...valid.integrations[0], batchSize: -1 }] });
    expect(both).toContain('integrations[1].id: duplicate id "orders" (also integrations[0])');
    expect(both.some((i) => i.startsWith('integrations[1].batchSize'))).toBe(true);
    expect(issuesOf({})[0]).toMatch(/^integrations: /);
    // Ids whose Temporal ids another integration's cron workflow, schedule or scheduled runs have (an acceptance run).
    const named = (id: string) => ({ ...valid.integrations[0], id, sink: { ...valid.integrations[0]!.sink, table: `public.${id.replaceAll('-', '_')}` } });
    expect(issuesOf({ integrations: [named('t01'), named('t01-cron'), named('t01-scheduled-x'), named('t01-scheduled'), named('t01-schedule'), named('t01-scheduledx'), named('t01-crons')] })).toEqual([
      'integrations[1].id: id "t01-cron" would share Temporal ids with integration "t01" (tidemark-t01-cron is its cron workflow): choose another id',
      'integrations[2].id: id "t01-scheduled-x" would share Temporal ids with integration "t01" (tidemark-t01-scheduled-… are its scheduled runs): choose another id',
      'integrations[3].id: id "t01-scheduled" would share Temporal ids with integration "t01" (tidemark-t01-scheduled-… are its scheduled runs): choose another id',
    ]);
    // Meaningless values an acceptance run found accepted.
    expect(issuesOf(withIntegration((i) => (i.maxRunDuration = 0)))).toEqual(['integrations[0].maxRunDuration: must be more than 0 (a run stops at its first page boundary past it)']);
    expect(issuesOf(withIntegration((i) => (i.source.cursor = ['id', 'id'])))).toEqual(['integrations[0].source.cursor[1]: "id" is listed twice']);
    expect(issuesOf(withIntegration((i) => (i.sink.key = ['id', 'id'])))).toEqual(['integrations[0].sink.key[1]: "id" is listed twice']);
    expect(issuesOf(withIntegration((i) => ((i.sink.url = '${SRC}'), (i.sink.table = 'public.orders'))))).toEqual(['integrations[0].sink.table: is the source table (public.orders at the same url): name another target table']);
  });

  it('loads YAML and JSON files and reports syntax errors with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tm-config-'));
    writeFileSync(join(dir, 'tidemark.yaml'), 'integrations:\n  - id: orders\n    source: {kind: postgres, url: "postgres://x", table: t, cursor: [id]}\n    sink: {table: t2, key: [id]}\n');
    expect(loadConfig(undefined, dir).integrations[0]!.sink.url).toBe('${DATABASE_URL}');
    writeFileSync(join(dir, 'bad.json'), '{ "integrations": [ }');
    expect(() => loadConfig('bad.json', dir)).toThrow(/bad\.json[\s\S]*not valid JSON/);
    expect(() => loadConfig('missing.yaml', dir)).toThrow(/file not found/);
    // An unquoted ${NAME} inside { … } is no YAML (README snippets had it): the error says to quote it.
    writeFileSync(join(dir, 'flow.yaml'), 'integrations:\n  - id: a\n    source: { kind: postgres, url: ${SRC}, table: t, cursor: [id] }\n');
    expect(() => loadConfig('flow.yaml', dir)).toThrow('at line 3, column 37; a ${NAME} reference inside { … } or [ … ] must be quoted, "${NAME}":');
    // A repeated key: JSON.parse keeps the last without a word (acceptance run); YAML already refused it.
    writeFileSync(join(dir, 'twice.json'), '{ "integrations": [ { "id": "a", "source": { "kind": "postgres", "url": "postgres://x", "table": "t", "cursor": ["id"] },\n  "sink": { "table": "t2", "key": ["id"] }, "sink": { "table": "t3", "key": ["id"] } } ] }');
    expect(() => loadConfig('twice.json', dir)).toThrow('not valid JSON: key "sink" is written twice in one object (again at line 2, column 45): JSON would keep only the last; keep one');
    // Tabs and any other valid JSON still load (the YAML reading only looks for repeats).
    writeFileSync(join(dir, 'tabs.json'), '{\n\t"integrations": [\n\t\t{ "id": "a", "source": { "kind": "postgres", "url": "postgres://x", "table": "t", "cursor": ["id"] }, "sink": { "table": "t2", "key": ["id"] } }\n\t]\n}\n');
    expect(loadConfig('tabs.json', dir).integrations[0]!.sink).toMatchObject({ table: 't2' });
    // An empty --config= and a directory are named as such (acceptance run), not the default lookup or EISDIR.
    expect(() => loadConfig('', dir)).toThrow(/--config[\s\S]*is empty: give the config file/);
    expect(() => loadConfig('.', dir)).toThrow(/is a directory \(.+\): give the config file in it, e\.g\. tidemark\.yaml/);
    expect(() => loadConfig(undefined, mkdtempSync(join(tmpdir(), 'tm-empty-')))).toThrow(/no config file/);
  });

  it('an unknown key gets a "did you mean" from the keys of that object only (an acceptance run: writerswait)', () => {
    const err = (() => {
      try {
        parseConfig({ integrations: [{ id: 'a', source: { kind: 'postgres', url: 'postgres://x', table: 'public.t', cursor: ['id'], writerswait: '1s' }, sink: { table: 'public.t', key: ['id'], crate: true, Batchsize: 1 }, batchsize: 3 }] });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err).toContain('integrations[0].source: Unrecognized key: "writerswait" (did you mean "writersWait" for "writerswait"?)');
    // batchSize is a key of the integration, not of the sink: not offered there.
    expect(err).toContain('integrations[0].sink: Unrecognized keys: "crate", "Batchsize" (did you mean "create" for "crate"?)');
    expect(err).toContain('integrations[0]: Unrecognized key: "batchsize" (did you mean "batchSize" for "batchsize"?)');
  });

  it('a key spelled right that belongs to another pagination style is said to be so, not "did you mean" itself (an acceptance run)', () => {
    const raw = { integrations: [{ id: 'gh', source: { kind: 'http', url: 'http://127.0.0.1:1/issues', records: '.', columns: { id: 'bigint' }, pagination: { style: 'link_header', hasMore: 'has_more', next: 'foo', rell: 'next' } }, sink: { table: 'public.i', key: ['id'] } }] };
    const err = (() => {
      try {
        parseConfig(raw);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err).toMatch(/pagination: Unrecognized keys: "hasMore", "next", "rell" \(did you mean "rel" for "rell"\?; "hasMore", "next" belong to another style or kind, not the one given here\)/);
  });

  it('an HTTP source: a sink key not among its declared columns is refused before anything runs (an acceptance run)', () => {
    const raw = (key: string[], extra: Record<string, unknown> = {}) => ({
      integrations: [{ id: 'api', source: { kind: 'http', url: 'http://127.0.0.1:1/items', records: 'data', columns: { name: 'text' }, pagination: { style: 'cursor' } }, sink: { table: 'public.items', key, ...extra } }],
    });
    expect(() => parseConfig(raw(['id']))).toThrow('integrations[0].sink.key[0]: column "id" is not among source.columns (name): declare it there, or key on one of them');
    expect(() => parseConfig(raw(['name']))).not.toThrow();
  });

  it('parses durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration('0')).toBe(0); // zero needs no unit (writersWait: "0" turns the wait off)
    expect(parseDuration('5')).toBeUndefined();
  });
});

describe('schedule config', () => {
  it('accepts every or cron with policies, and rejects anything else naming the field', () => {
    const cron = parseConfig(withIntegration((i) => (i.schedule = { cron: '*/5 * * * *', overlap: 'buffer_one', catchupWindow: '10m' })));
    expect(cron.integrations[0]!.schedule).toEqual({ cron: '*/5 * * * *', overlap: 'buffer_one', catchupWindow: 600_000, paused: false });
    expect(issuesOf(withIntegration((i) => (i.schedule = { every: '5m', overlap: 'sometimes' })))[0]).toMatch(/^integrations\[0\]\.schedule/);
    expect(issuesOf(withIntegration((i) => (i.schedule = { hourly: true })))[0]).toMatch(/^integrations\[0\]\.schedule: must be \{ every/);
    expect(issuesOf(withIntegration((i) => (i.schedule = { every: '5m', cron: '* * * * *' })))[0]).toMatch(/^integrations\[0\]\.schedule: must be \{ every: <duration> \} or \{ cron: "<expression>" \} \(one of the two\)/);
    // The form given reports its own error (found by an acceptance run: only the generic message before).
    expect(issuesOf(withIntegration((i) => (i.schedule = { every: '5 minutes' })))).toEqual(['integrations[0].schedule.every: "5 minutes" is not a duration: use e.g. "500ms", "2s", "5m", "1h30m"']);
    expect(issuesOf(withIntegration((i) => (i.schedule = { every: '5m', bogus: 1 })))).toEqual(['integrations[0].schedule: Unrecognized key: "bogus"']);
  });

  it('checks the issue-11 keys: timeZone, statementTimeout, schemaChanges, deletes', () => {
    const it0 = parseConfig(
      withIntegration((i) => {
        i.source.timeZone = 'America/Los_Angeles';
        i.deletes = { reconcileEvery: '1d' };
      }),
    ).integrations[0]!;
    expect(it0.source).toMatchObject({ timeZone: 'America/Los_Angeles', statementTimeout: 300_000 });
    expect(it0.deletes).toEqual({ reconcileEvery: 86_400_000, maxFraction: 0.1 });
    expect(schemaChangesOf(postgresSinkOf(it0, 'test'))).toBe('add_columns');
    expect(schemaChangesOf(postgresSinkOf(parseConfig(withIntegration((i) => (i.sink.create = false))).integrations[0]!, 'test'))).toBe('fail');
    expect(schemaChangesOf(postgresSinkOf(parseConfig(withIntegration((i) => (i.sink.schemaChanges = 'fail'))).integrations[0]!, 'test'))).toBe('fail');

    expect(issuesOf(withIntegration((i) => (i.source.timeZone = 'Mars/Olympus'))).join('\n')).toContain('integrations[0].source.timeZone: "Mars/Olympus" is not an IANA time zone');
    expect(issuesOf(withIntegration((i) => (i.source.statementTimeout = '10ms'))).join('\n')).toContain('integrations[0].source.statementTimeout: must be at least 1s');
    expect(issuesOf(withIntegration((i) => (i.sink.schemaChanges = 'ignore'))).join('\n')).toContain('integrations[0].sink.schemaChanges');
    expect(issuesOf(withIntegration((i) => (i.deletes = { reconcileEvery: '5s' }))).join('\n')).toContain('integrations[0].deletes.reconcileEvery: must be at least 1m');
    expect(issuesOf(withIntegration((i) => (i.deletes = { reconcileEvery: '1h', maxFraction: 2 }))).join('\n')).toContain('integrations[0].deletes.maxFraction');
    expect(issuesOf(withIntegration((i) => ((i.deletes = { reconcileEvery: '1h' }), (i.mapping = { id: 'id' })))).join('\n')).toContain(
      'integrations[0].deletes: deletes cannot be combined with mapping',
    );
  });
});
