import LinkHeader from 'http-link-header';
import { HttpSourceError } from './http-errors';
import { isSecretParam, safeUrl } from './redact';

/**
 * Next-page links (RFC 8288 `Link` headers, `nextRecordsUrl`, `_links.next.href`) between the API and
 * the cursor. A link is followed only on the source's own origin: the source's credentials go with
 * every request, and a link elsewhere would hand them to another host. The stored form is the path and
 * query, without the credential parameters of the source's URL (api_key=${KEY}, anything holding a
 * secret value): those are added back from the config on each request, so a cursor (workflow history,
 * tidemark.checkpoints) never holds one.
 */
export class NextLinks {
  /** Query parameters of the source's URL that carry credentials, with their resolved values. */
  private readonly credentials: [string, string][];

  constructor(
    private readonly base: URL,
    private readonly redact: (text: string) => string,
  ) {
    this.credentials = [...base.searchParams].filter(([k, v]) => isSecretParam(k) || redact(v) !== v);
  }

  /** The `rel` link of a Link header, or undefined. */
  static fromHeader(headers: Headers, rel: string): string | undefined {
    const value = headers.get('link');
    if (!value) return undefined;
    let refs: LinkHeader.Reference[];
    try {
      refs = LinkHeader.parse(value).rel(rel);
    } catch (err) {
      throw new HttpSourceError('pagination', `the Link header is not valid RFC 8288 (${(err as Error).message}): ${JSON.stringify(value.slice(0, 200))}`);
    }
    return refs[0]?.uri || undefined;
  }

  /** A link from the API, resolved against the URL it came with; an error when it leaves the source's origin. */
  resolve(raw: string, requested: URL, field: string): URL {
    let url: URL;
    try {
      url = new URL(raw, requested);
    } catch {
      throw new HttpSourceError(field, `the API's next link ${JSON.stringify(this.redact(raw))} is not a URL`, safeUrl(requested, this.redact));
    }
    if (url.origin !== this.base.origin) {
      throw new HttpSourceError(
        field,
        `the API's next link goes to ${url.origin}, not the source's origin ${this.base.origin}: tidemark follows links on the source's own origin only (its credentials go with every request); point source.url at the origin the API links to`,
        safeUrl(requested, this.redact),
      );
    }
    return url;
  }

  /** The cursor's form of a link: path and query, credential parameters and secret values removed. */
  store(url: URL): string {
    const u = new URL(url);
    // Names of the source's own credential parameters, and any value holding a secret; a position
    // parameter whose name merely looks secret (page_token) stays.
    const names = new Set(this.credentials.map(([k]) => k));
    for (const [k, v] of [...u.searchParams]) if (names.has(k) || this.redact(v) !== v) u.searchParams.delete(k);
    return `${u.pathname}${u.search}`;
  }

  /** A stored link as a request URL on the source's origin, its credential parameters added back. */
  open(stored: string): URL {
    const u = new URL(stored, this.base.origin);
    for (const [k, v] of this.credentials) u.searchParams.set(k, v);
    return u;
  }
}
