import { z } from 'zod';
import { InvalidCursorError, type Cursor } from '../../../cursor/cursor';
import { PermanentError } from '../../../errors';
import type { HttpPagination } from '../../../config/http-source-schema';
import { parseHttpCursor } from '../cursors';

/** A parent's identity in the cursor: its key field's value. */
export type ParentKey = string | number;

/** Parents whose child cursors are equal, stored once: a since-style child leaves every parent of a run at the same {"since": U}. */
export type CursorGroup = {
  cursor: Cursor;
  parents: ParentKey[];
};

/**
 * The cursor of a child stream, a plain JSON value:
 * - rounds: parent-list passes completed;
 * - parent: where the next round's parent list starts (incremental parents), else null (each round lists every parent);
 * - children: each parent's child cursor, grouped by equal value;
 * - round (while a round is under way): the parent cursor before the parent page being read, the parents finished in this
 *   round with their child cursors (moved out of `children`, never in both), and the parent being read (`at`) with its
 *   child position (`child`).
 */
export type ChildStreamCursor = {
  rounds: number;
  parent: Cursor;
  children: CursorGroup[];
  round?: { parent: Cursor; done: CursorGroup[]; at?: ParentKey; child?: Cursor };
};

/** Temporal carries the cursor in heartbeats and run results: it must stay far below its payload limits. */
export const MAX_CURSOR_BYTES = 256 * 1024;

export class ChildCursorTooLargeError extends PermanentError {
  override readonly name = 'ChildCursorTooLargeError';
  constructor(
    readonly bytes: number,
    readonly parents: number,
  ) {
    super(
      `the child stream's cursor would be ${bytes} bytes for ${parents} parents, more than ${MAX_CURSOR_BYTES}: each parent costs its key's length in the cursor; use a short source.parent.key (a numeric id), or split the parent list over several integrations (parent.path / parent.params)`,
    );
  }
}

const key = z.union([z.string(), z.number()]);
const group = z.strictObject({ cursor: z.unknown(), parents: z.array(key) });
const schema = z.strictObject({
  rounds: z.number().int().min(0),
  parent: z.unknown(),
  children: z.array(group),
  round: z.strictObject({ parent: z.unknown(), done: z.array(group), at: key.optional(), child: z.unknown().optional() }).optional(),
});

export const EXPECTED_CHILD_CURSOR = 'null or {"rounds": n, "parent": <parent cursor>|null, "children": [{"cursor": <child cursor>, "parents": [<key>, …]}, …], "round"?: {…}} (http child stream)';

/** Validates a stored cursor; nested parent and child cursors are checked by their styles (`parent`, `child`). */
export function parseChildCursor(value: unknown, parent: (c: unknown) => Cursor, child: (c: unknown) => Cursor): ChildStreamCursor | null {
  if (value === null || value === undefined) return null;
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidCursorError(value, EXPECTED_CHILD_CURSOR);
  const groups = (gs: CursorGroup[]) => gs.map((g) => ({ cursor: child(g.cursor), parents: g.parents }));
  const c = r.data as ChildStreamCursor;
  const round = c.round && { ...c.round, parent: parent(c.round.parent), done: groups(c.round.done), ...('child' in c.round ? { child: child(c.round.child) } : {}) };
  return { rounds: c.rounds, parent: parent(c.parent), children: groups(c.children), ...(round ? { round } : {}) };
}

/** A child stream's cursor parser from its config: the parent's list by its style, each child list by the child's. */
export function childCursorParser(parentStyle: HttpPagination['style'], childStyle: HttpPagination['style']): (value: unknown) => ChildStreamCursor | null {
  return (value) =>
    parseChildCursor(
      value,
      (c) => parseHttpCursor(parentStyle, c),
      (c) => parseHttpCursor(childStyle, c),
    );
}

const id = (k: ParentKey) => JSON.stringify(k);
type Entries = Map<string, { key: ParentKey; cursor: Cursor }>;

function toMap(groups: CursorGroup[]): Entries {
  const m: Entries = new Map();
  for (const g of groups) for (const k of g.parents) m.set(id(k), { key: k, cursor: g.cursor });
  return m;
}

function toGroups(m: Entries): CursorGroup[] {
  const by = new Map<string, CursorGroup>();
  for (const { key: k, cursor } of m.values()) {
    const text = JSON.stringify(cursor);
    const g = by.get(text) ?? by.set(text, { cursor, parents: [] }).get(text)!;
    g.parents.push(k);
  }
  return [...by.values()];
}

/** The cursor's working form while pages are read: lookups by parent key, encoded (grouped, size-checked) per page. */
export class ChildStreamState {
  private rounds: number;
  private nextParent: Cursor;
  private readonly children: Entries;
  private round?: { parent: Cursor; done: Entries; at?: ParentKey; child?: Cursor };
  /** the parent being read when the run (re)started, and its child position */
  private resume?: { key: string; child: Cursor };

  constructor(c: ChildStreamCursor | null) {
    this.rounds = c?.rounds ?? 0;
    this.nextParent = c?.parent ?? null;
    this.children = toMap(c?.children ?? []);
    if (c?.round) {
      this.round = { parent: c.round.parent, done: toMap(c.round.done) };
      if (c.round.at !== undefined) this.resume = { key: id(c.round.at), child: c.round.child ?? null };
    }
  }

  /** Starts a round unless one is under way; the parent cursor its list starts after. */
  beginRound(incremental: boolean): Cursor {
    this.round ??= { parent: incremental ? this.nextParent : null, done: new Map() };
    return this.round.parent;
  }

  /** Whether this round already read the parent's children. */
  isDone(k: ParentKey): boolean {
    return this.round?.done.has(id(k)) ?? false;
  }

  /** Starts reading a parent's children: from where an interrupted read stopped, else its stored cursor (null: from the start). */
  begin(k: ParentKey): Cursor {
    const r = this.active();
    const start = this.resume?.key === id(k) ? this.resume.child : (this.children.get(id(k))?.cursor ?? null);
    if (this.resume?.key === id(k)) this.resume = undefined;
    Object.assign(r, { at: k, child: start });
    return start;
  }

  progress(child: Cursor): void {
    this.active().child = child;
  }

  /** The parent's children are read up to `child`; null `child` for a parent that is gone (404): it leaves the cursor. */
  finish(k: ParentKey, child: Cursor | undefined): void {
    const r = this.active();
    this.children.delete(id(k));
    if (child !== undefined) r.done.set(id(k), { key: k, cursor: child });
    delete r.at;
    delete r.child;
  }

  /** Every parent of a parent page is read: a resumed run starts the parent list after it. */
  parentPageDone(parent: Cursor): void {
    this.active().parent = parent;
  }

  /** The parent list has ended: this round's cursors replace the old ones (incremental: join them) and the next round starts at `parent`. */
  endRound(incremental: boolean, parent: Cursor): void {
    const r = this.active();
    if (!incremental) this.children.clear();
    for (const [k, v] of r.done) this.children.set(k, v);
    this.nextParent = incremental ? parent : null;
    this.rounds += 1;
    this.round = undefined;
    this.resume = undefined;
  }

  encode(): ChildStreamCursor {
    const r = this.round;
    const c: ChildStreamCursor = {
      rounds: this.rounds,
      parent: this.nextParent,
      children: toGroups(this.children),
      ...(r ? { round: { parent: r.parent, done: toGroups(r.done), ...(r.at !== undefined ? { at: r.at, child: r.child ?? null } : {}) } } : {}),
    };
    const bytes = Buffer.byteLength(JSON.stringify(c));
    if (bytes > MAX_CURSOR_BYTES) throw new ChildCursorTooLargeError(bytes, this.children.size + (r?.done.size ?? 0));
    return c;
  }

  private active(): NonNullable<ChildStreamState['round']> {
    if (!this.round) throw new Error('child stream: no round under way');
    return this.round;
  }
}
