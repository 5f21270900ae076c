import jsonata from 'jsonata';
import type { HttpRequestTemplates } from '../../config/http-request-schema';
import { dotSegmentOf } from '../../util/dot-segments';
import { HttpSourceError } from './http-errors';

/** The pagination values a request carries, for the templates: only those this request has are bound. */
export interface TemplateVars {
  cursor?: string | number;
  since?: string;
  from?: string;
  to?: string;
  page?: number;
  offset?: number;
  limit?: number;
  /** offset with maxOffset: the anchorField of the last record before the search started again (undefined at first) */
  anchor?: string | number;
}

export interface BuiltRequest {
  method: 'GET' | 'POST';
  params: Record<string, string>;
  headers: Record<string, string>;
  path?: string;
  body?: string;
}

type Compiled = ReturnType<typeof jsonata>;

/**
 * `source.request` compiled once per source (i.e. per run): each request evaluates the templates
 * with its pagination values bound as $variables. A template evaluating to nothing (undefined) leaves
 * its parameter or header out; a non-string value is sent as JSON text.
 */
export class RequestTemplates {
  private readonly params: [string, Compiled][];
  private readonly headers: [string, Compiled][];
  private readonly path?: Compiled;
  private readonly body?: Compiled;

  constructor(private readonly r: HttpRequestTemplates) {
    this.params = Object.entries(r.params).map(([k, v]) => [k, jsonata(v)]);
    this.headers = Object.entries(r.headers).map(([k, v]) => [k, jsonata(v)]);
    if (r.path !== undefined) this.path = jsonata(r.path);
    if (r.body !== undefined) this.body = jsonata(r.body);
  }

  async build(vars: TemplateVars): Promise<BuiltRequest> {
    const bindings = Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined && v !== null));
    const out: BuiltRequest = { method: this.r.method, params: {}, headers: {} };
    for (const [k, e] of this.params) {
      const v = await run(e, bindings, `request.params.${k}`);
      if (v !== undefined) out.params[k] = text(v);
    }
    for (const [k, e] of this.headers) {
      const v = await run(e, bindings, `request.headers.${k}`);
      if (v !== undefined) out.headers[k] = text(v);
    }
    if (this.path) {
      const v = await run(this.path, bindings, 'request.path');
      if (typeof v !== 'string' || !v.startsWith('/')) throw new HttpSourceError('request.path', `must evaluate to a path starting with "/" (got ${JSON.stringify(v)})`);
      // Built from the API's cursor or a parent's fields: those values must not walk to another path of the origin.
      const dots = dotSegmentOf(v);
      if (dots !== undefined) throw new HttpSourceError('request.path', `evaluated to ${JSON.stringify(v)}, whose segment "${dots}" would move the request to another path: a value from the API (cursor, parent field) cannot do that`);
      out.path = v;
    }
    if (this.body) {
      const v = await run(this.body, bindings, 'request.body');
      if (v !== undefined) out.body = JSON.stringify(v);
    }
    return out;
  }
}

async function run(e: Compiled, bindings: Record<string, unknown>, field: string): Promise<unknown> {
  try {
    return (await e.evaluate({}, bindings)) as unknown;
  } catch (err) {
    throw new HttpSourceError(field, `the template failed: ${(err as Error).message}`);
  }
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
