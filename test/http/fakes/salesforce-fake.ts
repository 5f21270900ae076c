import type { Entry } from '../../../src/mock-api/orders-dataset';
import { firstAtOrAfter } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi } from './fake-server';

const QUERY = /^SELECT ([\w, ]+) FROM Order(?: WHERE SystemModstamp >= (\S+))? ORDER BY SystemModstamp ASC, Id ASC$/;
const SOQL_DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?(Z|[+-]\d\d:\d\d)$/;

/**
 * Salesforce-like REST query, as its docs describe it: `GET /services/data/v59.0/query?q=<SOQL>` with the
 * time filter inside the SOQL (`WHERE SystemModstamp >= 2024-01-01T00:00:00Z`, a datetime literal with no
 * quotes), answering `{ totalSize, done, nextRecordsUrl?, records }` in batches (here 500), the rest at
 * `nextRecordsUrl` = `/services/data/v59.0/query/<locator>-<offset>` (a path on the same origin).
 */
export function startSalesforceFake(records: number, seed: number, token: string): Promise<FakeApi & { expireLocators: () => void }> {
  const locators = new Map<string, readonly Entry[]>();
  let made = 0;
  const BATCH = 500;
  const answer = (list: readonly Entry[], locator: string, offset: number) => {
    const page = list.slice(offset, offset + BATCH);
    const done = offset + BATCH >= list.length;
    return {
      body: {
        totalSize: list.length,
        done,
        ...(done ? {} : { nextRecordsUrl: `/services/data/v59.0/query/${locator}-${offset + BATCH}` }),
        records: page.map((e) => ({ attributes: { type: 'Order', url: `/services/data/v59.0/sobjects/Order/${e.order.id}` }, ...e.order })),
      },
    };
  };
  return startFake(records, seed, (req, data) => {
    if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] };
    const more = /^\/services\/data\/v59\.0\/query\/(01g\w+)-(\d+)$/.exec(req.url.pathname);
    if (more) {
      const list = locators.get(more[1] as string);
      if (!list) return { status: 400, body: [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }] };
      return answer(list, more[1] as string, Number(more[2]));
    }
    if (req.url.pathname !== '/services/data/v59.0/query') return { status: 404, body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }] };
    const q = req.url.searchParams.get('q') ?? '';
    const m = QUERY.exec(q);
    if (!m) return badRequest(`MALFORMED_QUERY: ${q}`);
    const all = data.byTimeOrder();
    let list: readonly Entry[] = all;
    if (m[2] !== undefined) {
      if (!SOQL_DATETIME.test(m[2])) return badRequest(`MALFORMED_QUERY: value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes: ${m[2]}`);
      list = all.slice(firstAtOrAfter(all, Date.parse(m[2])));
    }
    const locator = `01gFAKE${made++}`;
    locators.set(locator, list);
    return answer(list, locator, 0);
  }).then((api) => Object.assign(api, { expireLocators: () => locators.clear() })); // as Salesforce does after ~15 minutes idle
}
