/**
 * The first `.` or `..` segment of a URL path built from data (a record's field, an API's cursor, a parent's id),
 * in any spelling the WHATWG URL parser resolves: `%2e` for a dot, `\` for a slash (http URLs). Such a segment
 * would move the request out of the path it was built under (`/partner/acme/items/` + `../globex/x`), with the
 * configured credentials: a security acceptance run. Undefined when there is none.
 */
export function dotSegmentOf(path: string): string | undefined {
  return path.split(/[/\\]/).find((s) => {
    const dots = s.replace(/%2e/gi, '.');
    return dots === '.' || dots === '..';
  });
}
