import type { Entry } from '../../../src/mock-api/orders-dataset';
import { startFake, type FakeApi } from './fake-server';

export interface SlackFakeOptions {
  token: string;
  /** the token was revoked by the workspace: every call answers ok:false, error token_revoked */
  revoked?: boolean;
  /** every Nth request is rate limited: HTTP 429 with Retry-After: 1 (Slack's tiers) */
  rateLimitEvery?: number;
}

/** A message's ts: epoch seconds with six decimals, unique in its channel ("1700000000.000123"), as micros. */
function micros(e: Entry): bigint {
  return BigInt(Date.parse(e.order.created_at)) * 1000n + BigInt(e.order.id % 1000);
}
const tsText = (us: bigint) => `${us / 1_000_000n}.${(us % 1_000_000n).toString().padStart(6, '0')}`;
const tsMicros = (text: string) => {
  const [s, f = ''] = text.split('.');
  return BigInt(s as string) * 1_000_000n + BigInt(f.padEnd(6, '0').slice(0, 6));
};

/**
 * Slack Web API `GET /api/conversations.history`, as its docs describe it: a bearer token; every answer is HTTP 200
 * with `ok`, errors as `{ ok: false, error: "invalid_auth" | "token_revoked" | "channel_not_found" | … }`, except
 * rate limits (HTTP 429 + Retry-After). Messages newest first; `oldest` / `latest` are ts values (epoch seconds,
 * decimals allowed), exclusive unless `inclusive=true`; `limit` up to 999 (fewer may come); `has_more` and
 * `response_metadata.next_cursor` (an opaque token, "" at the end). An edit keeps a message's ts.
 */
export function startSlackFake(records: number, seed: number, o: SlackFakeOptions): Promise<FakeApi> {
  let n = 0;
  return startFake(records, seed, (req, data) => {
    n++;
    if (o.rateLimitEvery && n % o.rateLimitEvery === 0) return { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } };
    if (req.url.pathname !== '/api/conversations.history') return { body: { ok: false, error: 'unknown_method' } };
    if (!req.headers.authorization) return { body: { ok: false, error: 'not_authed' } };
    if (req.headers.authorization !== `Bearer ${o.token}`) return { body: { ok: false, error: 'invalid_auth' } };
    if (o.revoked) return { body: { ok: false, error: 'token_revoked' } };
    const q = req.url.searchParams;
    if (q.get('channel') !== 'C0123456789') return { body: { ok: false, error: 'channel_not_found' } };
    const limit = Number(q.get('limit') ?? 100);
    const bad = (m: string) => ({ body: { ok: false, error: 'invalid_arguments', response_metadata: { messages: [`[ERROR] ${m}`] } } });
    if (!Number.isInteger(limit) || limit < 1 || limit > 999) return bad('limit must be between 1 and 999');
    for (const k of ['oldest', 'latest']) if (q.has(k) && !/^\d+(\.\d+)?$/.test(q.get(k) as string)) return bad(`invalid ${k}`);
    const inclusive = q.get('inclusive') === 'true' || q.get('inclusive') === '1';
    const oldest = q.has('oldest') ? tsMicros(q.get('oldest') as string) : 0n;
    const latest = q.has('latest') ? tsMicros(q.get('latest') as string) : BigInt(Date.now()) * 1000n + 999n;
    const inRange = (us: bigint) => (inclusive ? us >= oldest && us <= latest : us > oldest && us < latest);
    const list = data
      .byIdOrder()
      .filter((e) => inRange(micros(e)))
      .sort((a, b) => (micros(b) > micros(a) ? 1 : micros(b) < micros(a) ? -1 : 0));
    const start = q.get('cursor') ? Number(Buffer.from(q.get('cursor') as string, 'base64').toString().replace(/^next_ts:/, '')) : 0;
    const page = list.slice(start, start + limit);
    const more = start + limit < list.length;
    return {
      body: {
        ok: true,
        messages: page.map((e) => ({ ...e.order, type: 'message', user: `U${e.order.id}`, text: `order ${e.order.id}`, ts: tsText(micros(e)) })),
        has_more: more,
        pin_count: 0,
        response_metadata: { next_cursor: more ? Buffer.from(`next_ts:${start + limit}`).toString('base64') : '' },
      },
    };
  });
}
