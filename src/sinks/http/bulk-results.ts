import jsonata from 'jsonata';
import { z } from 'zod';
import { BulkResultsError } from './http-sink-errors';

/** One record's fate in a bulk answer, as `sink.bulk.results` reads it. */
export interface ItemResult {
  status: number;
  message?: string;
}

const itemSchema = z.looseObject({
  status: z.union([z.number().int(), z.string().regex(/^\d{3}$/).transform(Number)]),
  message: z.unknown().optional(),
});

/**
 * `sink.bulk.results`, compiled once per run: JSONata over an accepted bulk answer's JSON body ($status: the
 * HTTP status, $records: the request's records) giving one `{ status, message? }` per record, in the
 * request's order — Elasticsearch `_bulk` items, a batch API's per-record results. An answer it cannot
 * read (not JSON, wrong length, an item without a status) fails the page: records may have been applied,
 * and only the expression's author can say which.
 */
export class BulkResults {
  private readonly expr: ReturnType<typeof jsonata>;

  constructor(private readonly text: string) {
    this.expr = jsonata(text);
  }

  async read(body: string, status: number, records: readonly Record<string, unknown>[], where: string): Promise<ItemResult[]> {
    const fail = (why: string) => new BulkResultsError(where, records.length, why);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw fail(`the answer is not JSON (${JSON.stringify(body.slice(0, 120))})`);
    }
    let value: unknown;
    try {
      value = (await this.expr.evaluate(json, { status, records })) as unknown;
    } catch (err) {
      throw fail(`${this.text} failed: ${(err as Error).message}`);
    }
    // JSONata gives a lone value for a one-element sequence.
    const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
    if (items.length !== records.length) throw fail(`gave ${items.length} item(s) for the request's ${records.length} records`);
    return items.map((raw, i) => {
      const r = itemSchema.safeParse(raw);
      if (!r.success) throw fail(`item ${i} is ${JSON.stringify(raw)?.slice(0, 120)}, not { status, message? } with an HTTP status`);
      const m = r.data.message;
      return m === undefined || m === null ? { status: r.data.status } : { status: r.data.status, message: typeof m === 'string' ? m : JSON.stringify(m) };
    });
  }
}
