/**
 * What a scenario found, in the units the issue asks for:
 * - lost: source rows missing from the target or different in it;
 * - duplicated: target rows beyond the source, plus rows written twice where measurable
 *   (tidemark.runs rows_written above the rows that needed writing);
 * - reprocessed: rows_read - rows_committed in tidemark.runs (pages read and not committed by attempts that stopped
 *   on their own: failed, cancelled, out of time; a SIGKILLed worker cannot count its last page or two).
 */
export interface ScenarioResult {
  scenario: string;
  /** workflow runs (or cases) the scenario drove */
  runs: number;
  lost: number;
  duplicated: number;
  reprocessed: number;
  ok: boolean;
  /** appended to the result line: what is expected and documented, or what was measured */
  note?: string;
  /** why the result is FAIL (empty when ok) */
  failures: string[];
  /** facts worth showing under the line (stderr in the runner) */
  details: string[];
  seconds: number;
}

/** Collects a scenario's counts and checks; `result()` turns them into a ScenarioResult. */
export class Findings {
  runs = 0;
  lost = 0;
  duplicated = 0;
  reprocessed = 0;
  note: string | undefined;
  readonly failures: string[] = [];
  readonly details: string[] = [];
  private readonly started = Date.now();

  constructor(readonly scenario: string) {}

  /** Records a failure unless `ok`; returns `ok` so callers can branch on it. */
  check(ok: boolean, what: string): boolean {
    if (!ok) this.failures.push(what);
    return ok;
  }

  detail(text: string): void {
    this.details.push(text);
  }

  add(counts: { lost?: number; duplicated?: number; reprocessed?: number; runs?: number }): void {
    this.lost += counts.lost ?? 0;
    this.duplicated += counts.duplicated ?? 0;
    this.reprocessed += counts.reprocessed ?? 0;
    this.runs += counts.runs ?? 0;
  }

  result(): ScenarioResult {
    const ok = this.failures.length === 0 && this.lost === 0 && this.duplicated === 0;
    if (this.lost > 0 && !this.failures.some((f) => f.startsWith('lost'))) this.failures.push(`lost ${this.lost} rows`);
    if (this.duplicated > 0 && !this.failures.some((f) => f.startsWith('duplicated'))) this.failures.push(`duplicated ${this.duplicated} rows`);
    return {
      scenario: this.scenario,
      runs: this.runs,
      lost: this.lost,
      duplicated: this.duplicated,
      reprocessed: this.reprocessed,
      ok,
      ...(this.note ? { note: this.note } : {}),
      failures: [...this.failures],
      details: [...this.details],
      seconds: (Date.now() - this.started) / 1000,
    };
  }
}

/** `<scenario>: lost N, duplicated N, reprocessed N rows, result ok|FAIL` (plus a note when there is one). */
export function resultLine(r: ScenarioResult): string {
  const line = `${r.scenario}: lost ${r.lost}, duplicated ${r.duplicated}, reprocessed ${r.reprocessed} rows, result ${r.ok ? 'ok' : 'FAIL'}`;
  return r.note ? `${line} (${r.note})` : line;
}

/** The summary table printed after all scenarios. */
export function summaryTable(results: readonly ScenarioResult[]): string {
  const head = ['scenario', 'runs', 'lost', 'duplicated', 'reprocessed', 'result', 'time'];
  const rows = results.map((r) => [r.scenario, String(r.runs), String(r.lost), String(r.duplicated), String(r.reprocessed), r.ok ? 'ok' : 'FAIL', `${r.seconds.toFixed(0)} s`]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 || i === 5 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [fmt(head), rule, ...rows.map(fmt)].join('\n');
}
