import { isPostgresSink, type Integration } from '../config/schema';
import type { Cursor } from '../cursor/cursor';
import { encodeCopyValue } from '../pg/copy-text';
import type { CopyPage, Page, ReadOptions, Source, SourcePlan } from '../sources/source';
import { InstanceParamsError } from './errors';
import { parseInstanceRef } from './instance-id';

/**
 * A target shared by a template's instances (`sink.instanceColumn`): every row gets the instance id in
 * that column, first, and the column joins the key (see instantiate), so instances never touch each
 * other's rows. COPY pages keep their fast path: each line gets the value in front.
 */
export function withInstanceColumn(inner: Source, it: Integration): Source {
  const column = isPostgresSink(it.sink) ? it.sink.instanceColumn : undefined;
  const ref = parseInstanceRef(it.id);
  if (!column || !ref) return inner;
  const value = ref.instance;
  const prefix = Buffer.from(`${encodeCopyValue(value)}\t`);
  return {
    ...bind(inner),
    prepare: async (opts) => {
      const plan = await inner.prepare(opts);
      if (plan.columns.some((c) => c.name === column)) {
        throw new InstanceParamsError(it.id, [`sink.instanceColumn "${column}" is also a column of the source: choose another name for the instance column`]);
      }
      const withColumn: SourcePlan = { ...plan, columns: [{ name: column, type: 'text', notNull: true }, ...plan.columns] };
      if (plan.uniqueKeys) withColumn.uniqueKeys = plan.uniqueKeys.map((k) => [column, ...k]);
      return withColumn;
    },
    pages: (after: Cursor, opts: ReadOptions) => mapPages<Page>(inner.pages(after, opts), (p) => ({ ...p, rows: p.rows.map((r) => [value, ...r]) })),
    ...(inner.copyPages ? { copyPages: (after: Cursor, opts: ReadOptions) => mapPages<CopyPage>(inner.copyPages!(after, opts), (p) => ({ ...p, data: prefixLines(p.data, prefix) })) } : {}),
  };
}

function bind(inner: Source): Source {
  return {
    kind: inner.kind,
    prepare: (opts) => inner.prepare(opts),
    parseCursor: (v) => inner.parseCursor(v),
    later: (a, b) => inner.later(a, b),
    pages: (after, opts) => inner.pages(after, opts),
    close: () => inner.close(),
    ...(inner.estimateRemaining ? { estimateRemaining: inner.estimateRemaining.bind(inner) } : {}),
    ...(inner.split ? { split: inner.split.bind(inner) } : {}),
    ...(inner.rangeScale ? { rangeScale: inner.rangeScale } : {}),
    ...(inner.notes ? { notes: inner.notes.bind(inner) } : {}),
  };
}

async function* mapPages<T>(pages: AsyncIterable<T>, fn: (page: T) => T): AsyncGenerator<T> {
  for await (const page of pages) yield fn(page);
}

/** COPY text has one row per line (newlines inside values are escaped), so each line starts a row. */
export function prefixLines(data: Buffer, prefix: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const end = data.indexOf(0x0a, start);
    const stop = end === -1 ? data.length : end + 1;
    parts.push(prefix, data.subarray(start, stop));
    start = stop;
  }
  return Buffer.concat(parts);
}
