import { encodeCopyRows } from '../pg/copy-text';
import type { Cursor } from '../cursor/cursor';
import type { EncodedPage, Page, ReadOptions, Source } from '../sources/source';
import type { RecordPipeline } from '../transform/record-pipeline';

/** Row pages as COPY pages (through the mapping/validation pipeline when there is one). */
export async function* asCopyPages(pages: AsyncIterable<Page>, pipeline?: RecordPipeline): AsyncGenerator<EncodedPage> {
  for await (const p of pages) {
    // Records the source rejected itself count as read and join the pipeline's rejects.
    const early = p.rejected ?? [];
    const count = p.rows.length + early.length;
    const warnings = p.warnings?.length ? { warnings: p.warnings } : {};
    if (!pipeline) {
      yield { data: Buffer.from(encodeCopyRows(p.rows)), count, cursor: p.cursor, ...(early.length ? { rejected: early } : {}), ...warnings };
      continue;
    }
    const { good, rejected } = await pipeline.processAsync(p.rows);
    yield { data: Buffer.from(encodeCopyRows(good)), count, cursor: p.cursor, rejected: [...early, ...rejected], ...warnings };
  }
}

/**
 * The pages a run writes: COPY text straight through when the source can produce it and nothing
 * transforms records; otherwise rows are mapped, validated (rejects go to dead letters) and encoded.
 */
export function pagesToWrite(source: Source, after: Cursor, opts: ReadOptions, pipeline?: RecordPipeline): AsyncIterable<EncodedPage> {
  return source.copyPages && !pipeline ? source.copyPages(after, opts) : asCopyPages(source.pages(after, opts), pipeline);
}
