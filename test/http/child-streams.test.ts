import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig, type Config } from '../../src/config';
import { parseConfigText } from '../../src/config/load-config';
import { ChildCursorTooLargeError, type ChildStreamCursor } from '../../src/sources/http/children';
import { ChildStreamState } from '../../src/sources/http/children/child-cursor';
import { sql } from '../helpers/fixtures';
import { useFakeApiTarget } from './fakes/fake-target';
import { startGithubOrgFake, type GithubOrgFake } from './fakes/github-org-fake';
import { ORDER_COLUMNS, pause, runner, TOKEN } from './helpers';

const SIZES = [120, 0, 75, 230, 40];
const TOTAL = SIZES.reduce((a, b) => a + b, 0);
const TABLE = 'api.issues';
let api: GithubOrgFake | undefined;
let config: Config;
const dst = useFakeApiTarget('http_child_streams', async () => {
  await api?.close();
  api = undefined;
});
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, API_TOKEN: TOKEN, GITHUB_TOKEN: TOKEN, DST_URL: dst.url }),
);

/** Issues of every repository of the fake org, into api.issues keyed by (repo, id). */
function childConfig(source: Record<string, unknown> = {}, parent: Record<string, unknown> = {}): Config {
  return parseConfig({
    integrations: [
      {
        id: 'api',
        source: {
          kind: 'http',
          url: '${API_URL}/',
          headers: { Authorization: 'Bearer ${API_TOKEN}' },
          parent: { path: '/orgs/acme/repos', records: '.', pagination: { style: 'link_header', limitParam: 'per_page', maxPageSize: 100 }, fields: { id: 'id', full_name: 'full_name' }, ...parent },
          params: { state: 'all', sort: 'updated', direction: 'asc' },
          request: { path: "'/repos/' & $parent.full_name & '/issues'", params: { since: '$since', per_page: '$string($limit)' } },
          records: '.',
          pagination: { style: 'link_header', maxPageSize: 100 },
          parentFields: { repo: 'full_name' },
          columns: ORDER_COLUMNS,
          backoff: { initial: '20ms', max: '200ms' },
          ...source,
        },
        sink: { url: '${DST_URL}', table: TABLE, key: ['repo', 'id'], create: true },
        batchSize: 50,
      },
    ],
  });
}

async function expectTargetEqualsFake(): Promise<void> {
  const rows = await sql<{ repo: string; id: number; version: number; updated_at: Date; status: string; total: string }>(dst.url, `SELECT repo, id::int AS id, version, updated_at, status, total::text AS total FROM ${TABLE} ORDER BY repo, id`);
  const got = rows.map((x) => ({ ...x, updated_at: x.updated_at.toISOString() })).sort((a, b) => a.repo.localeCompare(b.repo) || a.id - b.id);
  const want = api!.expected();
  expect(got.length).toBe(want.length);
  expect(got).toEqual(want);
}

const issueRequests = (repo: string, from = 0) => api!.log.slice(from).filter((q) => q.url.pathname === `/repos/${repo}/issues`);
const cursorOf = (c: unknown) => c as ChildStreamCursor;

describe('child streams: every repository of an org, then each one\'s issues with its own cursor', () => {
  it('a backfill reads every issue of every repository exactly once; each repository keeps its own cursor', async () => {
    api = await startGithubOrgFake(SIZES, 1, TOKEN);
    config = childConfig();
    const res = await r.run({ runKey: 'child/backfill' });
    expect(res).toMatchObject({ rows: TOTAL, done: true });
    await expectTargetEqualsFake();
    const [run] = await sql(dst.url, `SELECT rows_read::text AS read FROM tidemark.runs WHERE run_id = 'child/backfill'`);
    expect(run).toEqual({ read: String(TOTAL) });
    // One group: every repository read up to the run's upper bound, stored once with all keys.
    const c = cursorOf(res.cursor);
    // The children's since is the pass start floored to the second, as a plain source's (GitHub keeps whole seconds; review).
    expect(c).toEqual({ rounds: 1, parent: null, children: [{ cursor: { since: expect.stringMatching(/T\d\d:\d\d:\d\d\.000Z$/) as string }, parents: api.repos.map((x) => x.id) }] });
    for (const repo of api.repos) {
      const qs = issueRequests(repo.full_name);
      expect(qs[0]!.url.searchParams.get('since')).toBeNull(); // from the start
      expect(qs.length).toBe(Math.max(1, Math.ceil(repo.issues.size / 50)));
      expect(Math.max(...qs.map((q) => Number(q.url.searchParams.get('per_page') ?? 30)))).toBeLessThanOrEqual(100);
    }
  });

  it('a change in one repository: the sync reads only its changes, every other repository is asked since the last run', async () => {
    api = await startGithubOrgFake(SIZES, 2, TOKEN);
    config = childConfig();
    const full = await r.run({ runKey: 'child/b2' });
    const since = (cursorOf(full.cursor).children[0]!.cursor as { since: string }).since;
    const m = api.repos[3]!.issues.mutate(25);
    await pause(20);
    const from = api.log.length;
    const sync = await r.run({ runKey: 'child/s2', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ rows: m.updated.length + m.inserted.length, done: true });
    await expectTargetEqualsFake();
    for (const repo of api.repos) {
      const qs = issueRequests(repo.full_name, from);
      expect(qs.length).toBe(1);
      expect(qs[0]!.url.searchParams.get('since')).toBe(since);
    }
  });

  it('a new repository: its issues are read from the start; the others only since the last run', async () => {
    api = await startGithubOrgFake(SIZES, 3, TOKEN);
    config = childConfig();
    const full = await r.run({ runKey: 'child/b3' });
    const added = api.addRepo('newcomer', 130);
    const from = api.log.length;
    const sync = await r.run({ runKey: 'child/s3', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ rows: 130, done: true });
    await expectTargetEqualsFake();
    const qs = issueRequests(added.full_name, from);
    expect(qs[0]!.url.searchParams.get('since')).toBeNull();
    expect(qs.length).toBe(3);
    expect(cursorOf(sync.cursor).children.flatMap((g) => g.parents)).toEqual(api.repos.map((x) => x.id));
  });

  it('a repository deleted after the list named it (404): skipped with a log line and a run warning, the rest synced, its key dropped', async () => {
    api = await startGithubOrgFake(SIZES, 4, TOKEN);
    config = childConfig();
    const full = await r.run({ runKey: 'child/b4' });
    const gone = api.repos[2]!;
    gone.gone = true;
    const m = api.repos[0]!.issues.mutate(10);
    await pause(20);
    const logs: LogEntry[] = [];
    const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('WARN', (e) => logs.push(e)) });
    const sync = await r.run({ runKey: 'child/s4', mode: 'sync', after: full.cursor }, env);
    expect(sync).toMatchObject({ rows: m.updated.length + m.inserted.length, done: true });
    const warning = logs.find((e) => e.level === 'WARN' && e.message.includes(`parent ${gone.id} answered 404`));
    expect(warning?.message).toContain(`/repos/${gone.full_name}/issues`);
    expect(cursorOf(sync.cursor).children.flatMap((g) => g.parents)).toEqual(api.repos.filter((x) => x !== gone).map((x) => x.id));
    // The rows read before the deletion stay; everything else equals the fake.
    const [kept] = await sql(dst.url, `SELECT count(*)::text AS n FROM ${TABLE} WHERE repo = $1`, [gone.full_name]);
    expect(kept).toEqual({ n: String(gone.issues.size) });
    await sql(dst.url, `DELETE FROM ${TABLE} WHERE repo = $1`, [gone.full_name]);
    await expectTargetEqualsFake();
  });

  it('a repository deleted after the list named it: the skip is a warning of the run (tidemark runs)', async () => {
    api = await startGithubOrgFake([30, 20], 9, TOKEN);
    config = childConfig();
    api.repos[1]!.gone = true;
    const res = await r.run({ runKey: 'child/warn' });
    expect(res).toMatchObject({ rows: 30, done: true });
    const [run] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'child/warn'`);
    expect(run!.warnings).toEqual([expect.stringContaining(`parent ${api.repos[1]!.id} answered 404 at GET ${api.url}/repos/acme/repo-2/issues`) as string]);
  });

  it('a crash in the middle of a repository: the retry continues that repository at its next link (no gap, no overlap)', async () => {
    api = await startGithubOrgFake(SIZES, 5, TOKEN);
    config = childConfig();
    const crash = new Error('worker died');
    const afterBatch = async ({ pages }: { pages: number }) => {
      if (pages === 2) throw crash;
    };
    await expect(r.run({ runKey: 'child/crash' }, undefined, { afterBatch })).rejects.toBe(crash);
    const [cp] = await sql<{ cursor: ChildStreamCursor }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(cp!.cursor.round).toMatchObject({ at: api.repos[0]!.id, child: { since: null, next: expect.stringMatching(/^\/repos\/acme\/repo-1\/issues\?.*page=3/) as string } });
    const res = await r.run({ runKey: 'child/crash' }, new MockActivityEnvironment({ attempt: 2 }));
    expect(res).toMatchObject({ done: true });
    const [run] = await sql(dst.url, `SELECT rows_read::text AS read FROM tidemark.runs WHERE run_id = 'child/crash'`);
    expect(run).toEqual({ read: String(TOTAL) });
    await expectTargetEqualsFake();
  });

  it('runs stopped by their time budget in the middle of a round: the next runs continue the round, each page read once', async () => {
    api = await startGithubOrgFake(SIZES, 8, TOKEN);
    const base = childConfig();
    // A 1 ms budget stops every run after its first page (the loop checks the budget after each commit).
    config = { ...base, integrations: [{ ...base.integrations[0]!, maxRunDuration: 1 }] };
    let after: ChildStreamCursor | null = null;
    let rows = 0;
    let runs = 0;
    for (; (after?.rounds ?? 0) < 1 && runs < 40; runs++) {
      const res = await r.run({ runKey: `child/budget-${runs}`, mode: 'sync', after });
      rows += res.rows;
      after = cursorOf(res.cursor);
      // Out of time after each page; the one that closes the round read to the source's end: done, not stopped early.
      if ((after.rounds ?? 0) < 1) expect(res.stoppedBy).toBe('time-budget');
      else expect(res).toMatchObject({ done: true });
    }
    // 12 issue pages, one page per run: every run moved the round on; the last one closes the round.
    expect(runs).toBe(13);
    expect(rows).toBe(TOTAL);
    expect(after?.round).toBeUndefined();
    await expectTargetEqualsFake();
  });

  it('incremental parents: the next round continues the parent list from its cursor, keeping every repository\'s cursor', async () => {
    api = await startGithubOrgFake(SIZES, 6, TOKEN);
    config = childConfig({}, { incremental: true, pageSize: 2 });
    const full = await r.run({ runKey: 'child/b6' });
    expect(cursorOf(full.cursor).parent).toEqual({ next: expect.stringMatching(/^\/orgs\/acme\/repos\?.*page=3/) as string });
    const added = api.addRepo('newcomer', 60);
    const from = api.log.length;
    const sync = await r.run({ runKey: 'child/s6', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ rows: 60, done: true });
    await expectTargetEqualsFake();
    // Only the last parent page (repo-5, and the newcomer behind it) was visited.
    expect(api.repos.filter((x) => issueRequests(x.full_name, from).length).map((x) => x.name)).toEqual(['repo-5', added.name]);
    expect(cursorOf(sync.cursor).children.flatMap((g) => g.parents).sort()).toEqual(api.repos.map((x) => x.id).sort());
  });

  it('examples/github-org-issues.yaml: backfill, a change, a sync, exact target', async () => {
    api = await startGithubOrgFake([80, 150, 10], 7, TOKEN);
    const file = join(__dirname, '../../examples/github-org-issues.yaml');
    const text = readFileSync(file, 'utf8');
    parseConfigText(text, file); // loads as written
    const raw = parseYaml(text) as { integrations: { source: Record<string, unknown>; sink: Record<string, unknown> }[] };
    const it0 = raw.integrations[0]!;
    config = parseConfig({
      integrations: [{ id: 'api', source: { ...it0.source, url: '${API_URL}/', columns: ORDER_COLUMNS, backoff: { initial: '20ms', max: '200ms' }, requestsPerSecond: undefined }, sink: { ...it0.sink, url: '${DST_URL}', table: TABLE }, batchSize: 100 }],
    });
    const full = await r.run({ runKey: 'ex/backfill' });
    expect(full).toMatchObject({ rows: 240, done: true });
    await expectTargetEqualsFake();
    const m = api.repos[1]!.issues.mutate(30);
    await pause(20);
    const sync = await r.run({ runKey: 'ex/sync', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ rows: m.updated.length + m.inserted.length, done: true });
    await expectTargetEqualsFake();
  });
});

describe('child streams: config and cursor', () => {
  const bad = (source: Record<string, unknown>, parent: Record<string, unknown> = {}) => {
    try {
      childConfig(source, parent);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('bad child-stream config fails before anything runs, naming the field', () => {
    expect(bad({ request: { path: "'/repos/' & $parent.fullname & '/issues'" } })).toContain(
      'integrations[0].source.request.path: references $parent.fullname, which source.parent.fields does not declare: use $parent.id, $parent.full_name, or add fullname to source.parent.fields',
    );
    expect(bad({ parent: undefined, parentFields: undefined })).toContain('integrations[0].source.request.path: references $parent, which only a child stream provides');
    expect(bad({ request: { path: "'/repos/acme/x/issues'" } })).toContain('integrations[0].source.request: a child stream reads a different list for each parent: reference $parent.id, $parent.full_name');
    expect(bad({ parentFields: { repo: 'name' } })).toContain('integrations[0].source.parentFields.repo: names name, which source.parent.fields does not declare (id, full_name)');
    expect(bad({ parentFields: { id: 'id' } })).toContain('integrations[0].source.parentFields.id: is also a column in source.columns');
    expect(bad({}, { key: 'login' })).toContain('integrations[0].source.parent.key: must be one of source.parent.fields (id, full_name), got login');
    expect(bad({}, { path: 'orgs/acme/repos' })).toContain('integrations[0].source.parent.path: must be a path starting with "/"');
    expect(bad({}, { pageSize: 500 })).toContain('integrations[0].source.parent.pageSize: is 500, more than parent.pagination.maxPageSize (100)');
  });

  it('the cursor stores each parent once per distinct child cursor, and refuses to grow past its bound', () => {
    const since = { since: '2026-01-01T00:00:00.000Z' };
    const ids = Array.from({ length: 10_000 }, (_, i) => 100_000_000 + i);
    const compact = new ChildStreamState({ rounds: 1, parent: null, children: [{ cursor: since, parents: ids }] }).encode();
    expect(Buffer.byteLength(JSON.stringify(compact))).toBeLessThan(ids.length * 11 + 200); // the 9-digit key and a comma per parent
    const names = Array.from({ length: 10_000 }, (_, i) => `some-organisation/a-fairly-long-repository-name-${i}`);
    const state = new ChildStreamState({ rounds: 1, parent: null, children: [{ cursor: since, parents: names }] });
    expect(() => state.encode()).toThrow(ChildCursorTooLargeError);
    expect(() => state.encode()).toThrow(/use a short source.parent.key \(a numeric id\)/);
  });
});
