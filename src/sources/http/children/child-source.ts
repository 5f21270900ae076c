import { passBound } from '../pass-bound';
import { warnInActivity } from '../../../util/activity-log';
import type { HttpSourceConfig } from '../../../config/http-source-schema';
import { isBoundedPagination } from '../../../config/http-pagination-schema';
import { templatesUseSince } from '../../../config/http-source-schema';
import type { Cursor } from '../../../cursor/cursor';
import type { ColumnSpec, PrepareOptions, ReadOptions, Source, SourcePlan } from '../../source';
import { createHttpSource, type HttpSourceContext, type ResolveEnv } from '../http-source';
import { ChildStreamState, childCursorParser } from './child-cursor';
import { childSourceConfig, parentPageSize, parentResolve, parentSourceConfig } from './child-configs';
import { childStreamPages, type ChildPage } from './child-pages';

/** The child stream source, with the warnings of its runs so far (parents skipped as gone). */
export interface ChildStreamSource extends Source {
  readonly warnings: readonly string[];
}

/**
 * `kind: http` with `source.parent`: the parent list (its own pagination) and, for each parent, the
 * child list read by an http source whose templates see the parent's fields as `$parent`. Parent and
 * child requests share the origin's rate limit and the integration's credentials. The cursor keeps each
 * parent's child cursor (see child-cursor.ts), so a run reads what changed in every parent's list, a
 * new parent from the start, and a resumed run continues the same parent where its last page ended.
 */
export async function createChildStreamSource(cfg: HttpSourceConfig, resolve: ResolveEnv, ctx: HttpSourceContext = { integration: 'http' }): Promise<ChildStreamSource> {
  const p = cfg.parent;
  if (!p) throw new Error('child stream: source.parent is required');
  const parentCfg = parentSourceConfig(cfg, p);
  const parentSource = await createHttpSource(parentCfg, parentResolve(cfg, p, resolve), ctx);
  const parentFields = cfg.parentFields ?? [];
  const bounded = isBoundedPagination(cfg.pagination, templatesUseSince(cfg.request)) || isBoundedPagination(p.pagination);
  const parse = childCursorParser(p.pagination.style, cfg.pagination.style);
  const columns: ColumnSpec[] = [...cfg.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull })), ...parentFields.map((c) => ({ name: c.name, type: c.type, notNull: false }))];
  const warnings: string[] = [];
  let highWater: string | null = null;
  let prepared = false;

  return {
    kind: 'http',
    warnings,
    async prepare(opts: PrepareOptions): Promise<SourcePlan> {
      // One upper bound for the parent list and every child list of the run (a resumed backfill keeps its own).
      // Floored to the second as a plain source's pass bound is (passBound): the children read in passes by $since.
      highWater = bounded ? (opts.highWater ?? passBound(cfg.pagination.style, Date.now() - cfg.lag)) : null;
      const plan = await parentSource.prepare(highWater ? { highWater } : {});
      prepared = true;
      const range = highWater ? `, up to ${highWater}` : '';
      return { columns, highWater, describe: `child stream of ${plan.describe}: ${cfg.request?.method ?? 'GET'} ${cfg.request?.path ?? cfg.url} per parent (pagination ${cfg.pagination.style}${range})` };
    },
    parseCursor: (value: unknown) => parse(value),
    // Positions in different parents have no order: the first (the durable checkpoint) wins, unless a round count says otherwise.
    later: async (a: Cursor, b: Cursor) => {
      const x = parse(a);
      const y = parse(b);
      if (!x || !y) return x ?? y;
      return y.rounds > x.rounds ? y : x;
    },
    pages(after: Cursor, opts: ReadOptions): AsyncIterable<ChildPage> {
      if (!prepared) throw new Error('http child stream: prepare() must run before pages()');
      const state = new ChildStreamState(parse(after));
      const childSource = async (fields: Record<string, unknown>) => {
        const child = await createHttpSource(childSourceConfig(cfg, fields), resolve, ctx);
        await child.prepare(highWater ? { highWater } : {});
        return child;
      };
      const warn = (message: string) => {
        warnings.push(message);
        warnInActivity(message, { integration: ctx.integration });
      };
      return childStreamPages({ parent: p, parentFields, parentSource, parentLimit: parentPageSize(p), childSource, warn }, state, opts);
    },
    close: () => parentSource.close(),
  };
}
