import type { HttpColumn } from '../../config/http-source-schema';
import { yieldToIo } from '../../util/yield-to-io';
import { prefetch } from '../combinators/prefetch';
import type { CopyPage } from '../source';
import type { RecordPage } from './paginators/page-context';
import { rawCopyMaker } from './raw/raw-copy';
import { copyRowMaker, copyText, SLICE } from './records';

/** A page's records → its COPY data: from their bytes when they came as bytes (raw/), else from the parsed records. */
export function copyDataMaker(columns: readonly HttpColumn[]): (records: readonly unknown[]) => Promise<Buffer> {
  const fromBytes = rawCopyMaker(columns);
  const fromRecords = copyRowMaker(columns);
  // A slice at a time, letting the event loop run between them (see records.ts inSlices).
  return async (records) => {
    const parts: Buffer[] = [];
    for (let i = 0; i < records.length; i += SLICE) {
      await yieldToIo();
      const slice = records.slice(i, i + SLICE);
      parts.push(fromBytes(slice) ?? Buffer.from(copyText(fromRecords(slice, i))));
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  };
}

/**
 * A style's record pages as COPY pages, each converted while the next page's request is already out
 * (read one page ahead, as rowPages does for rows).
 */
export async function* copyPagesOf(pages: AsyncIterable<RecordPage>, toData: (records: readonly unknown[]) => Promise<Buffer>): AsyncGenerator<CopyPage> {
  for await (const page of prefetch(pages)) {
    const data = await toData(page.records);
    await yieldToIo();
    yield { data, count: page.records.length, cursor: page.cursor };
  }
}
