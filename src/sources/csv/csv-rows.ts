import type { Rejected, Row, SourceRecord } from '../../transform/record-pipeline';
import type { CsvColumn } from './csv-columns';
import type { CsvRecord } from './csv-reader';

/** A record that cannot become a row: the dead letter, and whether its raw text belongs in the reason. */
export interface BadRecord extends Rejected {
  /** The field count is wrong: values are positional guesses, so the reason carries the raw text. */
  misshapen: boolean;
}

/**
 * CSV records → target rows (PostgreSQL text values, NULL for `nullValue`), or bad records: a wrong
 * field count, or a value its column's type rejects. A bad record's `record` is keyed by the target
 * columns like any dead letter, so `tidemark dead-letters` shows and re-processes it the usual way.
 */
export class RowConverter {
  /**
   * The columns of the last converted record whose values hold U+FFFD (UTF-8 files only): what the decoder puts in
   * place of bytes that are not UTF-8, or a real U+FFFD in the file. The source checks the line's bytes to tell.
   */
  replacedIn: { name: string; index: number }[] | undefined;

  constructor(
    private readonly columns: readonly CsvColumn[],
    private readonly fieldCount: number,
    private readonly nullValue: string | null,
    private readonly utf8: boolean,
  ) {}

  convert(rec: CsvRecord): Row | BadRecord {
    const row: Row = new Array<string | null>(this.columns.length);
    let problems: string[] | undefined;
    this.replacedIn = undefined;
    for (let i = 0; i < this.columns.length; i++) {
      const c = this.columns[i] as CsvColumn;
      const raw = rec.fields[c.index];
      const v = raw === undefined || raw === this.nullValue ? null : raw;
      row[i] = v;
      if (v === null) continue;
      if (this.utf8 && v.includes('\uFFFD')) (this.replacedIn ??= []).push({ name: c.spec.name, index: c.index });
      const problem = v.includes('\0') ? 'contains a NUL character, which PostgreSQL cannot store in text' : c.check?.(v);
      if (problem) (problems ??= []).push(`${c.spec.name}: ${problem}`);
    }
    if (rec.fields.length !== this.fieldCount) {
      return { record: this.record(row), reason: `line ${rec.line}: expected ${this.fieldCount} fields, got ${rec.fields.length}`, misshapen: true };
    }
    if (problems) return { record: this.record(row), reason: `line ${rec.line}: ${problems.join('; ')}`, misshapen: false };
    return row;
  }

  /** A row as a dead letter's record: keyed by the target columns. */
  record(row: Row): SourceRecord {
    const r: SourceRecord = {};
    this.columns.forEach((c, i) => (r[c.spec.name] = row[i] ?? null));
    return r;
  }
}

export function isBad(x: Row | BadRecord): x is BadRecord {
  return !Array.isArray(x);
}
