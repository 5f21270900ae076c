/**
 * The cost per record of mapping (issue #15 item 0): `npx tsx bench/mapping-cost.ts [--records N] [--runs K]`,
 * also `npm run bench -- --mapping-cost`. In one process, no database: pages of source rows (PostgreSQL
 * text, 7 columns) turned into COPY text through plain copy (no pipeline), a rename-only mapping, the
 * seed's 6 expressions (compiled to JS where possible), the same 6 evaluated by JSONata only, and a
 * mapping module doing the same in TypeScript. Side by side, median of K runs, interleaved.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeCopyRows } from '../src/pg/copy-text';
import type { ColumnSpec } from '../src/sources/source';
import { RecordPipeline, type Row } from '../src/transform/record-pipeline';

const SOURCE: ColumnSpec[] = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'first_name', type: 'text', notNull: false },
  { name: 'last_name', type: 'text', notNull: false },
  { name: 'active', type: 'boolean', notNull: false },
  { name: 'email', type: 'text', notNull: false },
  { name: 'city', type: 'text', notNull: false },
  { name: 'age', type: 'integer', notNull: false },
];

export const SEED_EXPRESSIONS = {
  id: 'id',
  name: "=first_name & ' ' & last_name",
  status: "=active ? 'active' : 'inactive'",
  email: '=$lower(email)',
  origin: "='crm'",
  synced_at: '=$now()',
  profile: '={ "name": first_name & " " & last_name, "city": city, "age": age, "active": active }',
};

interface Variant {
  id: string;
  label: string;
  pipeline?: RecordPipeline;
}

function variants(): Variant[] {
  const renames = Object.fromEntries(SOURCE.map((c) => [`${c.name}_out`, c.name]));
  return [
    { id: 'copy', label: 'plain copy (no mapping)' },
    { id: 'rename', label: 'rename-only mapping (7 columns)', pipeline: new RecordPipeline(SOURCE, renames, undefined) },
    { id: 'expressions', label: "the seed's 6 expressions (+ id)", pipeline: new RecordPipeline(SOURCE, SEED_EXPRESSIONS, undefined) },
    { id: 'jsonata', label: 'the same, JSONata only (no compiled JS)', pipeline: new RecordPipeline(SOURCE, SEED_EXPRESSIONS, undefined, { jsonataOnly: true }) },
    { id: 'module', label: 'module hook (the same in TypeScript)', pipeline: new RecordPipeline(SOURCE, { module: resolve(__dirname, 'mapping/seed-mapping-module.ts') }, undefined) },
  ];
}

function makePages(records: number, pageSize: number): Row[][] {
  const pages: Row[][] = [];
  for (let start = 0; start < records; start += pageSize) {
    const page: Row[] = [];
    for (let i = start; i < Math.min(records, start + pageSize); i++) {
      page.push([String(i + 1), `First${i}`, `Last${i}`, i % 3 ? 't' : 'f', `P${i}@Example.COM`, i % 2 ? 'Oslo' : null, String(20 + (i % 40))]);
    }
    pages.push(page);
  }
  return pages;
}

async function once(v: Variant, pages: Row[][]): Promise<number> {
  const t = process.hrtime.bigint();
  let bytes = 0;
  for (const page of pages) {
    const rows = v.pipeline ? (await v.pipeline.processAsync(page)).good : page;
    bytes += encodeCopyRows(rows).length;
  }
  if (bytes === 0) throw new Error('nothing encoded');
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function mappingCost(opts: { records: number; runs: number; out?: string; log?: (line: string) => void }): Promise<string> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const pages = makePages(opts.records, 5000);
  const vs = variants();
  const times = new Map<string, number[]>(vs.map((v) => [v.id, []]));
  for (const v of vs) await once(v, pages.slice(0, 2)); // warm-up: JIT, module load
  for (let run = 0; run < opts.runs; run++) for (const v of vs) times.get(v.id)?.push(await once(v, pages));
  const base = median(times.get('copy') ?? []);
  const lines = [
    `Mapping cost per record: ${opts.records.toLocaleString('en')} records of 7 columns in pages of 5,000, to COPY text; median of ${opts.runs}; node ${process.version}; load average ${loadavg()[0]?.toFixed(1)} at the end (the machine's other work slows every row alike)`,
    '',
    '| path | records/s | µs per record | µs per record over plain copy |',
    '|---|---:|---:|---:|',
    ...vs.map((v) => {
      const s = median(times.get(v.id) ?? []);
      return `| ${v.label} | ${Math.round(opts.records / s).toLocaleString('en')} | ${((s / opts.records) * 1e6).toFixed(2)} | ${(((s - base) / opts.records) * 1e6).toFixed(2)} |`;
    }),
  ];
  for (const l of lines) log(l);
  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(join(opts.out, 'mapping-cost.md'), `${lines.join('\n')}\n`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const arg = (name: string, d: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  void mappingCost({ records: arg('--records', 100_000), runs: arg('--runs', 3), out: join(__dirname, 'results') });
}
