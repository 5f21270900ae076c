import { OrdersDataset } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi, type FakeReply, type FakeRequest } from './fake-server';
import { issuesOf } from './github-fake';

/** One repository of the fake organisation, with its issues (orders-shaped records, ids per repository). */
export interface FakeRepo {
  id: number;
  name: string;
  full_name: string;
  issues: OrdersDataset;
  /** listed by /orgs/{org}/repos but its issues answer 404: deleted between the list and the read */
  gone?: boolean;
}

export interface GithubOrgFake extends FakeApi {
  repos: FakeRepo[];
  /** a new repository with n issues, listed last (GitHub lists an org's repos by creation) */
  addRepo(name: string, issues: number): FakeRepo;
  /** what a complete target holds: every issue of every live repository, with its repository's full_name */
  expected(): { repo: string; id: number; version: number; updated_at: string; status: string; total: string }[];
}

const ORG = 'acme';

/**
 * GitHub-like organisation as its REST docs describe it: `GET /orgs/{org}/repos` (per_page capped at
 * 100 without a word, `page`, Link header rel="next"/"last"), and for each repository
 * `GET /repos/{owner}/{repo}/issues` with `since` (ISO-8601, updated at or after), `sort=created|updated&direction=asc`,
 * the same paging, 404 `{"message": "Not Found"}` for a repository that does not exist (any more);
 * a bearer token; bodies are the arrays themselves.
 */
export async function startGithubOrgFake(sizes: number[], seed: number, token: string): Promise<GithubOrgFake> {
  const repos: FakeRepo[] = [];
  const addRepo = (name: string, issues: number): FakeRepo => {
    const id = 1_000 + repos.length * 7;
    const r = { id, name, full_name: `${ORG}/${name}`, issues: new OrdersDataset(issues, seed * 100 + repos.length) };
    repos.push(r);
    return r;
  };
  sizes.forEach((n, i) => addRepo(`repo-${i + 1}`, n));
  const api = await startFake(0, seed, (req, _data, base) => {
    if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { message: 'Bad credentials' } };
    if (req.url.pathname === `/orgs/${ORG}/repos`) return paged(req, base, repos.map((r) => ({ id: r.id, name: r.name, full_name: r.full_name, private: false })));
    const m = /^\/repos\/([^/]+)\/([^/]+)\/issues$/.exec(req.url.pathname);
    const repo = m && repos.find((r) => r.full_name === `${m[1]}/${m[2]}`);
    if (!repo || repo.gone) return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/issues/issues#list-repository-issues' } };
    const found = issuesOf(repo.issues, req.url.searchParams);
    if ('reply' in found) return found.reply;
    return paged(req, base, found.list.map((e) => e.order));
  });
  return Object.assign(api, {
    repos,
    addRepo,
    expected: () =>
      repos
        .filter((r) => !r.gone)
        .flatMap((r) => r.issues.snapshot().map((o) => ({ repo: r.full_name, id: o.id, version: o.version, updated_at: o.updated_at, status: o.status, total: o.total })))
        .sort((a, b) => a.repo.localeCompare(b.repo) || a.id - b.id),
  });
}

/** A page of `items` as GitHub pages lists: per_page (default 30, at most 100), page, a Link header. */
function paged(req: FakeRequest, base: string, items: readonly unknown[]): FakeReply {
  const q = req.url.searchParams;
  const perPage = Math.min(Number(q.get('per_page') ?? 30), 100);
  const page = Number(q.get('page') ?? 1);
  if (!Number.isInteger(perPage) || perPage < 1 || !Number.isInteger(page) || page < 1) return badRequest('per_page and page must be positive integers');
  const pages = Math.max(1, Math.ceil(items.length / perPage));
  const link = (p: number, rel: string) => {
    const u = new URL(req.url.pathname, base);
    for (const [k, v] of q) u.searchParams.set(k, v);
    u.searchParams.set('per_page', String(perPage));
    u.searchParams.set('page', String(p));
    return `<${u.href}>; rel="${rel}"`;
  };
  const rels = [...(page < pages ? [link(page + 1, 'next'), link(pages, 'last')] : []), ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])];
  return { headers: rels.length ? { link: rels.join(', ') } : {}, body: items.slice((page - 1) * perPage, page * perPage) };
}
