import { templateRefsIn } from '../config/env-refs';
import { stringsIn, type Template } from '../config/template-schema';

/**
 * Where an instance's parameter values may go. Most of a template's strings build a request or a query: URLs,
 * JSONata expressions (request templates, sink path and body), file paths, SQL. A value pasted there verbatim could
 * point it elsewhere: an acceptance run added `subdomain=127.0.0.1:18704/steal?`, and the tenant's bearer token went
 * to that host; `../` reached other endpoints. There a value may hold only letters, digits and `. _ ~ -` (the
 * characters a URL never treats specially), not starting with ".". Values that are sent as data, encoded, take any
 * text: header values, `source.params` (query parameters, encoded) and `timeZone`; only control characters are
 * refused there (a line break in a header would start a new one).
 */
const SAFE = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const hasControl = (v: string) => [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** Whether the string at `path` is data sent as it is (encoded by whatever sends it), not part of a URL or expression. */
function isFreeText(path: readonly (string | number)[]): boolean {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (last === 'timeZone') return true;
  // request.* are JSONata expressions: a value there is code, not data.
  if (path.includes('request')) return false;
  return parent === 'headers' || (parent === 'params' && path[0] === 'source');
}

const where = (path: readonly (string | number)[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('');

/** Each parameter value that may not go where the template puts it, with why. */
export function paramPlacementProblems(t: Pick<Template, 'raw'>, params: Record<string, string>): string[] {
  const problems: string[] = [];
  const said = new Set<string>();
  for (const [path, text] of stringsIn(t.raw)) {
    for (const ref of templateRefsIn(text)) {
      const value = params[ref.name];
      if (ref.scope !== 'instance' || value === undefined) continue;
      const free = isFreeText(path);
      const bad = free ? hasControl(value) : !SAFE.test(value);
      const key = `${ref.name}\u0000${free}`;
      if (!bad || said.has(key)) continue;
      said.add(key);
      problems.push(
        free
          ? `parameter ${ref.name}=${JSON.stringify(value)} holds a control character (a line break?), which may not go into ${where(path)}`
          : `parameter ${ref.name}=${JSON.stringify(value)} may not go into ${where(path)}: a value used in a URL, a path, an expression or a query may hold only letters, digits and . _ ~ - (not starting with "."), since "/", "?", "#", "@", ":" or ".." would send the request, and the instance's credentials, elsewhere; free text belongs in headers or source.params`,
      );
    }
  }
  return problems;
}
