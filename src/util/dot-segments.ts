/**
 * The first segment of a URL path built from data (a record's field, an API's cursor, a parent's id) that could
 * move the request out of the path it was built under (`/partner/acme/items/` + `../globex/x`), with the
 * configured credentials (a security acceptance run). Refused: `.` and `..` in any spelling the WHATWG URL parser
 * resolves (`%2e`, `\` for a slash, tabs and line breaks it drops), an encoded slash or backslash (`%2f`, `%5c`)
 * or percent sign (`%25`, decoded twice by some servers) and `..;` (Tomcat, Spring), and control characters.
 * Undefined when there is none.
 */
export function dotSegmentOf(path: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f]/.exec(path);
  if (control) return JSON.stringify(control[0]).slice(1, -1);
  return path.split(/[/\\]/).find((s) => {
    if (/%(2f|5c|25)/i.test(s)) return true;
    const dots = s.replace(/%2e/gi, '.');
    return dots === '.' || dots === '..' || /^\.\.?;/.test(dots);
  });
}
