import { describe, expect, it } from 'vitest';
import { RequestTemplates } from '../../src/sources/http/request-templates';
import { dotSegmentOf } from '../../src/util/dot-segments';

describe('paths built from data cannot walk out of their prefix', () => {
  it('finds `.` and `..` segments in every spelling the URL parser resolves', () => {
    for (const p of ['/../admin', '../x', '/a/./b', '/%2e%2e/x', '/%2E./x', '/.%2e/x', '/a\\..\\b', '/a/..', '%2e']) expect(dotSegmentOf(p), p).toBeDefined();
    // What the parser drops (tab, CR, LF: `.\t.` is `..` to it), what servers decode or normalize (%2f, %5c, %25, `..;`).
    for (const p of ['/a/.\t./x', '/a/.\n%2e/x', '/a/%2\re/x', '/..%2fadmin', '/x%5c..', '/%252e%252e/x', '/..;/admin', '/a\u007f']) expect(dotSegmentOf(p), JSON.stringify(p)).toBeDefined();
    for (const p of ['/items/1', '/a..b/c', '/...', '/.hidden', '/%2e%2e%2e', '/a/b/', '', '/a;b', '/%20x']) expect(dotSegmentOf(p), p).toBeUndefined();
  });

  it("a source's request.path from a parent's field or the API's cursor refuses such a segment, naming the field", async () => {
    // A child stream binds $parent into the template this way (childSourceConfig); $cursor comes from the API.
    const child = (name: string) => new RequestTemplates({ method: 'GET', params: {}, headers: {}, path: `($parent := ${JSON.stringify({ full_name: name })}; ('/repos/' & $parent.full_name & '/issues'))` });
    await expect(child('acme/widgets').build({})).resolves.toMatchObject({ path: '/repos/acme/widgets/issues' });
    await expect(child('../../admin').build({})).rejects.toThrow(/request\.path: evaluated to "\/repos\/\.\.\/\.\.\/admin\/issues", whose segment "\.\." would move the request to another path/);
    await expect(child('acme/%2e%2e').build({})).rejects.toThrow(/segment "%2e%2e"/);
    const byCursor = new RequestTemplates({ method: 'GET', params: {}, headers: {}, path: "'/exports/' & $cursor" });
    await expect(byCursor.build({ cursor: '../admin' })).rejects.toThrow(/segment "\.\."/);
  });
});
