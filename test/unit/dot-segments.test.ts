import { describe, expect, it } from 'vitest';
import { RequestTemplates } from '../../src/sources/http/request-templates';
import { dotSegmentOf } from '../../src/util/dot-segments';

describe('paths built from data cannot walk out of their prefix', () => {
  it('finds `.` and `..` segments in every spelling the URL parser resolves', () => {
    for (const p of ['/../admin', '../x', '/a/./b', '/%2e%2e/x', '/%2E./x', '/.%2e/x', '/a\\..\\b', '/a/..', '%2e']) expect(dotSegmentOf(p), p).toBeDefined();
    for (const p of ['/items/1', '/a..b/c', '/...', '/.hidden', '/%2e%2e%2e', '/a/b/', '']) expect(dotSegmentOf(p), p).toBeUndefined();
  });

  it("a source's request.path from a parent's field or the API's cursor refuses such a segment, naming the field", async () => {
    const t = new RequestTemplates({ method: 'GET', params: {}, headers: {}, path: "'/repos/' & $parent.full_name & '/issues'" });
    await expect(t.build({ parent: { full_name: 'acme/widgets' } })).resolves.toMatchObject({ path: '/repos/acme/widgets/issues' });
    await expect(t.build({ parent: { full_name: '../../admin' } })).rejects.toThrow(/request\.path: evaluated to "\/repos\/\.\.\/\.\.\/admin\/issues", whose segment "\.\." would move the request to another path/);
    await expect(t.build({ parent: { full_name: 'acme/%2e%2e' } })).rejects.toThrow(/segment "%2e%2e"/);
  });
});
