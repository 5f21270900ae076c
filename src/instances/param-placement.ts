import { templateRefsIn } from '../config/env-refs';
import { stringsIn, type Template } from '../config/template-schema';

/**
 * Where an instance's parameter values may go. Most of a template's strings build a request or a query: URLs,
 * JSONata expressions (request templates, sink path and body, mappings), file paths, SQL. A value pasted there
 * verbatim could point it elsewhere: an acceptance run added `subdomain=127.0.0.1:18704/steal?`, and the tenant's
 * bearer token went to that host; `../` reached other endpoints. There a value may hold only letters, digits and
 * `. _ ~ -` (the characters a URL never treats specially), not starting with ".". Values sent as data, encoded by
 * whatever sends them, take other text (spaces, "@", "/", ":"): header values, query parameters (`source.params`,
 * the parent list's), `source.timeZone`, and the auth fields that are not URLs or secrets (a user name, a client
 * id, scopes, an audience). Not control characters (a line break would start another header), nor "$" or "{":
 * `${NAME}` references are resolved from the workers' environment after the values are filled in, so two values
 * side by side ("$" and "{KEY}") would send a worker's secret.
 */
const SAFE = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const unsafeText = (v: string) => /[${]/.test(v) || [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

type Path = readonly (string | number)[];
const FREE: Path[] = [
  ['source', 'timeZone'],
  ['source', 'headers', '*'],
  ['sink', 'headers', '*'],
  ['source', 'params', '*'],
  ['source', 'parent', 'params', '*'],
  ...['source', 'sink'].flatMap((side) => ['username', 'clientId', 'audience', 'scopes'].map((f) => [side, 'auth', f])),
  ...['source', 'sink'].map((side) => [side, 'auth', 'scopes', '*']),
];

/** Whether the string at `path` is data sent as it is (encoded by whatever sends it), not part of a URL or expression. */
function isFreeText(path: Path): boolean {
  return FREE.some((p) => p.length === path.length && p.every((k, i) => k === '*' || k === path[i]));
}

const where = (path: Path) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('');

/** Each parameter value that may not go where the template puts it, with why. */
export function paramPlacementProblems(t: Pick<Template, 'raw'>, params: Record<string, string>): string[] {
  const problems: string[] = [];
  const said = new Set<string>();
  for (const [path, text] of stringsIn(t.raw)) {
    for (const ref of templateRefsIn(text)) {
      const value = params[ref.name];
      if (ref.scope !== 'instance' || value === undefined) continue;
      const free = isFreeText(path);
      const bad = free ? unsafeText(value) : !SAFE.test(value);
      const key = `${ref.name}\u0000${free}`;
      if (!bad || said.has(key)) continue;
      said.add(key);
      problems.push(
        free
          ? `parameter ${ref.name}=${JSON.stringify(value)} may not go into ${where(path)}: it holds a control character (a line break would start another header), "$" or "{" (which could make a \${NAME} reference to the workers' environment)`
          : `parameter ${ref.name}=${JSON.stringify(value)} may not go into ${where(path)}: a value used in a URL, a path, an expression or a query may hold only letters, digits and . _ ~ - (not starting with "."), since "/", "?", "#", "@", ":" or ".." would send the request, and the instance's credentials, elsewhere; free text belongs in headers or source.params`,
      );
    }
  }
  return problems;
}
