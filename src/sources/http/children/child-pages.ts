import type { ParentConfig, ParentFieldColumn } from '../../../config/http-child-schema';
import type { Cursor } from '../../../cursor/cursor';
import { toPgText } from '../../define-source';
import type { Page, ReadOptions, Source } from '../../source';
import { HttpSourceError, HttpStatusError } from '../http-errors';
import type { ChildStreamState, ParentKey } from './child-cursor';
import type { ParentFields } from './child-configs';

/** A page of a child stream: rows of one parent's child list, and what the run should record as warnings. */
export type ChildPage = Page & { warnings?: string[] };

export interface ChildReadDeps {
  parent: ParentConfig;
  parentFields: ParentFieldColumn[];
  /** the parent list's source, prepared */
  parentSource: Source;
  parentLimit: number;
  /** the child source of one parent, prepared; closed by the caller */
  childSource(fields: ParentFields): Promise<Source>;
  /** a parent skipped because its child list is gone (404/410): logged by the caller's logger */
  warn(message: string): void;
}

/** Statuses that mean the parent was deleted after the parent list named it. */
const GONE = new Set([404, 410]);

/**
 * One round of a child stream: the parent list from the round's position, and for each parent not read
 * yet this round, its child list from its own cursor to the end, page by page (each page's cursor says
 * which parent and where in its list). Between parent pages an empty page moves the parent position,
 * and at the end of the list the round folds into the per-parent cursors. Every page moves the cursor
 * on, so runs that stop after each page (a time budget) still finish the round.
 */
export async function* childStreamPages(deps: ChildReadDeps, state: ChildStreamState, opts: ReadOptions): AsyncGenerator<ChildPage> {
  const incremental = deps.parent.incremental;
  let parentAt: Cursor = state.beginRound(incremental);
  let warnings: string[] = [];
  const take = () => {
    const w = warnings;
    warnings = [];
    return w.length ? { warnings: w } : {};
  };
  // A parent page's end is committed only once the next parent page exists: the last page's cursor
  // (e.g. its own link) would read it again, so the round's end stands for it instead.
  let pageEnded = false;
  for await (const pp of deps.parentSource.pages(parentAt, { ...opts, limit: deps.parentLimit })) {
    if (pageEnded) yield { rows: [], cursor: state.encode(), ...take() };
    for (const row of pp.rows) {
      const fields = fieldsOf(deps.parent, row);
      const key = keyOf(deps.parent, fields);
      if (state.isDone(key)) continue;
      const extra = deps.parentFields.map((c) => textOf(fields[c.field], c.type));
      const start = state.begin(key);
      const child = await deps.childSource(fields);
      // One page held back: the last page of a parent goes out with the parent marked done, so every
      // committed page moves the cursor on (a run stopped after it does not read that page again).
      let held: Page | undefined;
      const emit = (page: Page): ChildPage => ({ ...page, rows: page.rows.map((r) => [...r, ...extra]), cursor: state.encode(), ...take() });
      try {
        try {
          for await (const page of child.pages(start, opts)) {
            if (held) {
              state.progress(held.cursor);
              yield emit(held);
            }
            held = page;
          }
          state.finish(key, held ? held.cursor : start);
        } catch (err) {
          if (!(err instanceof HttpStatusError) || !GONE.has(err.status)) throw err;
          const message = `child stream: parent ${JSON.stringify(key)} answered ${err.status} at ${err.method} ${err.url} (deleted after the parent list named it?): skipped, its children are not read and it leaves the cursor`;
          deps.warn(message);
          warnings.push(message);
          state.finish(key, undefined);
        }
        if (held) yield emit(held);
      } finally {
        await child.close();
      }
    }
    parentAt = pp.cursor;
    state.parentPageDone(parentAt);
    pageEnded = true;
  }
  state.endRound(incremental, parentAt);
  yield { rows: [], cursor: state.encode(), ...take() };
}

/** A parent row (one jsonb column per declared field, in declaration order) as the field values. */
function fieldsOf(p: ParentConfig, row: (string | null)[]): ParentFields {
  return Object.fromEntries(Object.keys(p.fields).map((name, i) => [name, row[i] === null || row[i] === undefined ? null : (JSON.parse(row[i]) as unknown)]));
}

function keyOf(p: ParentConfig, fields: ParentFields): ParentKey {
  const name = p.key ?? Object.keys(p.fields)[0]!;
  const v = fields[name];
  if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v;
  throw new HttpSourceError('parent.key', `a parent record's ${name} (at "${p.fields[name]}") is ${JSON.stringify(v)}: the key must be a string or a number present in every parent record; choose another field as parent.key`);
}

function textOf(v: unknown, type: string): string | null {
  if (v === undefined || v === null) return null;
  return /^jsonb?$/i.test(type.trim()) ? JSON.stringify(v) : toPgText(v);
}
